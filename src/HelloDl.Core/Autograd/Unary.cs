using System.Runtime.CompilerServices;
using HelloDl.Kernels;
using HelloDl.Tensors;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace HelloDl.Autograd;

/// <summary>An element-wise function and its derivative (given the input and the output), side by side.</summary>
public interface IUnaryRule
{
    /// <summary>y = f(x) over whole spans (vectorised).</summary>
    static abstract void Forward(ReadOnlySpan<float> x, Span<float> y);
    /// <summary>f'(x) written into <paramref name="derivative"/>, from x and y = f(x).</summary>
    static abstract void Derivative(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> derivative);
}

public readonly struct SigmoidRule : IUnaryRule
{
    public static void Forward(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Sigmoid(x, y);

    // σ' = y (1 - y) = y - y²
    public static void Derivative(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> derivative)
    {
        TensorPrimitives.Multiply(y, y, derivative);
        TensorPrimitives.Subtract(y, derivative, derivative);
    }
}

public readonly struct TanhRule : IUnaryRule
{
    public static void Forward(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Tanh(x, y);

    // tanh' = 1 - y²
    public static void Derivative(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> derivative)
    {
        TensorPrimitives.Multiply(y, y, derivative);
        TensorPrimitives.Subtract(1f, derivative, derivative);
    }
}

/// <summary>y = f(x) element by element.</summary>
public sealed class Unary<TRule> : Op where TRule : struct, IUnaryRule
{
    readonly Tensor _x;

    Unary(Tensor x) => _x = x;

    public static Tensor Apply(Tape tape, Tensor x)
    {
        var y = tape.NewTensor(x.Shape);
        TRule.Forward(x.Data, y.Data);
        tape.Record(new Unary<TRule>(x), y, x);
        return y;
    }

    internal override void Backward(Tape tape)
    {
        var derivative = tape.Rent(_x.Length).AsSpan(0, _x.Length);
        TRule.Derivative(_x.Data, Output!.Data, derivative);
        var dx = tape.GradOf(_x);
        TensorPrimitives.MultiplyAdd(derivative, Output.Grad, dx, dx);
    }
}

/// <summary>ReLU: y = max(x, 0); the gradient passes where y &gt; 0.</summary>
public sealed class Relu : Op
{
    readonly Tensor _x;

    Relu(Tensor x) => _x = x;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Tensor Apply(Tape tape, Tensor x)
    {
        var y = tape.NewTensor(x.Shape);
        Activations.ReluForward(x.Data, y.Data);
        tape.Record(new Relu(x), y, x);
        return y;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal override void Backward(Tape tape) => Activations.ReluBackward(Output!.Data, Output.Grad, tape.GradOf(_x));
}

/// <summary>GELU in its exact form x Φ(x) = x (1 + erf(x/√2)) / 2, as hello-dl uses; its derivative is kept for backward.</summary>
public sealed class Gelu : Op
{
    readonly Tensor _x;
    readonly float[] _derivative;

    Gelu(Tensor x, float[] derivative) { _x = x; _derivative = derivative; }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Tensor Apply(Tape tape, Tensor x)
    {
        var y = tape.NewTensor(x.Shape);
        // Inference needs no derivative.
        var derivative = tape.Recording ? tape.Rent(x.Length) : [];
        Activations.GeluForward(x.Data, y.Data, derivative.AsSpan(0, tape.Recording ? x.Length : 0));
        tape.Record(new Gelu(x, derivative), y, x);
        return y;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal override void Backward(Tape tape) =>
        Activations.GeluBackward(_derivative.AsSpan(0, _x.Length), Output!.Grad, tape.GradToOverwrite(_x, out bool fresh), overwrite: fresh);
}
