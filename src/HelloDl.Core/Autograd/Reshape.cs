using System.Runtime.CompilerServices;
using HelloDl.Tensors;

namespace HelloDl.Autograd;

/// <summary>The same values under another shape of the same size (flatten is a reshape).</summary>
public sealed class Reshape : Op
{
    readonly Tensor _x;

    Reshape(Tensor x) => _x = x;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Tensor Apply(Tape tape, Tensor x, params int[] shape)
    {
        if (Tensor.Size(shape) != x.Length)
            throw new ArgumentException($"Cannot reshape {x} to {Tensor.ShapeText(shape)}: sizes differ.");
        // A view: ops never write into their inputs, so sharing the values is safe.
        var y = tape.NewView(x, shape);
        tape.Record(new Reshape(x), y, x);
        return y;
    }

    /// <summary>[N, ...] to [N, rest].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Tensor Flatten(Tape tape, Tensor x) => Apply(tape, x, x.Dim(0), x.Length / x.Dim(0));

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal override void Backward(Tape tape)
    {
        var dx = tape.GradOf(_x);
        // As one row: the CNN's flatten, whose TensorPrimitives.Add ran unoptimised through a first epoch.
        Rows.AddSums(Output!.Grad, 1, dx);
    }
}
