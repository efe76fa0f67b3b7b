using HelloDl.Tensors;

namespace HelloDl.Autograd;

/// <summary>Row-major geometry of one axis: blocks outside it, its size, and the span inside it.</summary>
internal readonly record struct AxisLayout(int Outer, int Size, int Inner)
{
    public static AxisLayout Of(int[] shape, int axis)
    {
        if ((uint)axis >= (uint)shape.Length) throw new ArgumentOutOfRangeException(nameof(axis), $"Axis {axis} of a {shape.Length}-D tensor.");
        int outer = 1, inner = 1;
        for (int i = 0; i < axis; i++) outer *= shape[i];
        for (int i = axis + 1; i < shape.Length; i++) inner *= shape[i];
        return new(outer, shape[axis], inner);
    }
}

/// <summary>x[..., start : start + length, ...] along one axis.</summary>
public sealed class Slice : Op
{
    readonly Tensor _x;
    readonly int _axis, _start;

    Slice(Tensor x, int axis, int start) { _x = x; _axis = axis; _start = start; }

    public static Tensor Apply(Tape tape, Tensor x, int axis, int start, int length)
    {
        var layout = AxisLayout.Of(x.Shape, axis);
        if (start < 0 || length < 1 || start + length > layout.Size)
            throw new ArgumentOutOfRangeException(nameof(start), $"Slice {start}..{start + length} is outside axis {axis} of {x}.");
        var shape = (int[])x.Shape.Clone();
        shape[axis] = length;
        var y = tape.NewTensor(shape);
        int chunk = length * layout.Inner;
        for (int o = 0; o < layout.Outer; o++)
            x.Data.Slice((o * layout.Size + start) * layout.Inner, chunk).CopyTo(y.Data.Slice(o * chunk, chunk));
        tape.Record(new Slice(x, axis, start), y, x);
        return y;
    }

    internal override void Backward(Tape tape)
    {
        var layout = AxisLayout.Of(_x.Shape, _axis);
        int chunk = Output!.Dim(_axis) * layout.Inner;
        var dx = tape.GradOf(_x);
        ReadOnlySpan<float> dy = Output.Grad;
        for (int o = 0; o < layout.Outer; o++)
        {
            var target = dx.Slice((o * layout.Size + _start) * layout.Inner, chunk);
            System.Numerics.Tensors.TensorPrimitives.Add(target, dy.Slice(o * chunk, chunk), target);
        }
    }
}

/// <summary>Tensors joined along one axis; all other dimensions must agree.</summary>
public sealed class Concat : Op
{
    readonly Tensor[] _parts;
    readonly int _axis;

    Concat(Tensor[] parts, int axis) { _parts = parts; _axis = axis; }

    public static Tensor Apply(Tape tape, int axis, params Tensor[] parts)
    {
        if (parts.Length == 0) throw new ArgumentException("Nothing to concatenate.");
        var shape = (int[])parts[0].Shape.Clone();
        shape[axis] = 0;
        foreach (var part in parts)
        {
            for (int d = 0; d < shape.Length; d++)
                if (d != axis && (part.Rank != shape.Length || part.Shape[d] != shape[d]))
                    throw new ArgumentException($"Cannot concatenate {part} with {parts[0]} along axis {axis}.");
            shape[axis] += part.Dim(axis);
        }
        var y = tape.NewTensor(shape);
        var layout = AxisLayout.Of(shape, axis);
        int offset = 0;
        foreach (var part in parts)
        {
            int chunk = part.Dim(axis) * layout.Inner;
            for (int o = 0; o < layout.Outer; o++)
                part.Data.Slice(o * chunk, chunk).CopyTo(y.Data.Slice((o * layout.Size) * layout.Inner + offset, chunk));
            offset += chunk;
        }
        tape.Record(new Concat(parts, axis), y, parts);
        return y;
    }

    internal override void Backward(Tape tape)
    {
        var layout = AxisLayout.Of(Output!.Shape, _axis);
        ReadOnlySpan<float> dy = Output.Grad;
        int offset = 0;
        foreach (var part in _parts)
        {
            int chunk = part.Dim(_axis) * layout.Inner;
            if (part.RequiresGrad)
            {
                var dx = tape.GradOf(part);
                for (int o = 0; o < layout.Outer; o++)
                {
                    var target = dx.Slice(o * chunk, chunk);
                    System.Numerics.Tensors.TensorPrimitives.Add(target, dy.Slice(o * layout.Size * layout.Inner + offset, chunk), target);
                }
            }
            offset += chunk;
        }
    }
}
