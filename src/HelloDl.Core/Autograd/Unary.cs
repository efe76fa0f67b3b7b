using HelloDl.Kernels;
using HelloDl.Tensors;

namespace HelloDl.Autograd;

/// <summary>An element-wise function and its derivative (given the input and the output), side by side.</summary>
public interface IUnaryRule
{
    static abstract float Forward(float x);
    static abstract float Derivative(float x, float y);
}

public readonly struct SigmoidRule : IUnaryRule
{
    public static float Forward(float x) => 1 / (1 + MathF.Exp(-x));
    public static float Derivative(float x, float y) => y * (1 - y);
}

public readonly struct TanhRule : IUnaryRule
{
    public static float Forward(float x) => MathF.Tanh(x);
    public static float Derivative(float x, float y) => 1 - y * y;
}

/// <summary>y = f(x) element by element.</summary>
public sealed class Unary<TRule> : Op where TRule : struct, IUnaryRule
{
    readonly Tensor _x;

    Unary(Tensor x) => _x = x;

    public static Tensor Apply(Tape tape, Tensor x)
    {
        var y = tape.NewTensor(x.Shape);
        ReadOnlySpan<float> input = x.Data;
        var output = y.Data;
        for (int i = 0; i < input.Length; i++) output[i] = TRule.Forward(input[i]);
        tape.Record(new Unary<TRule>(x), y, x);
        return y;
    }

    internal override void Backward(Tape tape)
    {
        ReadOnlySpan<float> x = _x.Data, y = Output!.Data, dy = Output.Grad;
        var dx = tape.GradOf(_x);
        for (int i = 0; i < x.Length; i++) dx[i] += dy[i] * TRule.Derivative(x[i], y[i]);
    }
}

/// <summary>ReLU: y = max(x, 0); the gradient passes where y &gt; 0.</summary>
public sealed class Relu : Op
{
    readonly Tensor _x;

    Relu(Tensor x) => _x = x;

    public static Tensor Apply(Tape tape, Tensor x)
    {
        var y = tape.NewTensor(x.Shape);
        Activations.ReluForward(x.Data, y.Data);
        tape.Record(new Relu(x), y, x);
        return y;
    }

    internal override void Backward(Tape tape) => Activations.ReluBackward(Output!.Data, Output.Grad, tape.GradOf(_x));
}

/// <summary>GELU in its exact form x Φ(x) = x (1 + erf(x/√2)) / 2, as hello-dl uses; Φ is kept for backward.</summary>
public sealed class Gelu : Op
{
    readonly Tensor _x;
    readonly float[] _cdf;

    Gelu(Tensor x, float[] cdf) { _x = x; _cdf = cdf; }

    public static Tensor Apply(Tape tape, Tensor x)
    {
        var y = tape.NewTensor(x.Shape);
        var cdf = tape.Rent(x.Length);
        Activations.GeluForward(x.Data, y.Data, cdf.AsSpan(0, x.Length));
        tape.Record(new Gelu(x, cdf), y, x);
        return y;
    }

    internal override void Backward(Tape tape) =>
        Activations.GeluBackward(_x.Data, _cdf.AsSpan(0, _x.Length), Output!.Grad, tape.GradOf(_x), tape.Rent(_x.Length).AsSpan(0, _x.Length));
}
