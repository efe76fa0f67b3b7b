using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using HelloDl.Tensors;

namespace HelloDl.Autograd;

/// <summary>The sum of all elements, times a scale: Sum (scale 1) and Mean (scale 1/n).</summary>
public sealed class Sum : Op
{
    readonly Tensor _x;
    readonly float _scale;

    Sum(Tensor x, float scale) { _x = x; _scale = scale; }

    public static Tensor Apply(Tape tape, Tensor x) => Scaled(tape, x, 1f);

    public static Tensor Mean(Tape tape, Tensor x) => Scaled(tape, x, 1f / x.Length);

    static Tensor Scaled(Tape tape, Tensor x, float scale)
    {
        var y = tape.NewTensor(1);
        y.Data[0] = TensorPrimitives.Sum(x.Data) * scale;
        tape.Record(new Sum(x, scale), y, x);
        return y;
    }

    internal override void Backward(Tape tape)
    {
        var dx = tape.GradOf(_x);
        TensorPrimitives.Add(dx, Output!.Grad[0] * _scale, dx);
    }
}

/// <summary>Σ x², the weight-decay penalty (hello-dl adds 0.02 Σ w²).</summary>
public sealed class SumOfSquares : Op
{
    readonly Tensor _x;

    SumOfSquares(Tensor x) => _x = x;

    public static Tensor Apply(Tape tape, Tensor x)
    {
        var y = tape.NewTensor(1);
        y.Data[0] = TensorPrimitives.SumOfSquares(x.Data);
        tape.Record(new SumOfSquares(x), y, x);
        return y;
    }

    internal override void Backward(Tape tape)
    {
        var dx = tape.GradOf(_x);
        // d/dx Σx² = 2x
        TensorPrimitives.MultiplyAdd(_x.Data, 2 * Output!.Grad[0], dx, dx);
    }
}
