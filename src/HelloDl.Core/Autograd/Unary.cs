using HelloDl.Tensors;

namespace HelloDl.Autograd;

/// <summary>An element-wise function and its derivative (given the input and the output), side by side.</summary>
public interface IUnaryRule
{
    static abstract float Forward(float x);
    static abstract float Derivative(float x, float y);
}

public readonly struct ReluRule : IUnaryRule
{
    public static float Forward(float x) => x > 0 ? x : 0;
    public static float Derivative(float x, float y) => x > 0 ? 1 : 0;
}

/// <summary>GELU in its exact form x Φ(x) = x (1 + erf(x/√2)) / 2, as hello-dl uses.</summary>
public readonly struct GeluRule : IUnaryRule
{
    const float InvSqrt2 = 0.70710678118654752f;
    const float InvSqrt2Pi = 0.39894228040143268f;
    public static float Forward(float x) => 0.5f * x * (1 + Erf.Of(x * InvSqrt2));
    public static float Derivative(float x, float y) => 0.5f * (1 + Erf.Of(x * InvSqrt2)) + x * InvSqrt2Pi * MathF.Exp(-0.5f * x * x);
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

/// <summary>The error function, to float precision (Abramowitz and Stegun 7.1.26 refined: |error| &lt; 1.2e-7).</summary>
internal static class Erf
{
    public static float Of(float x)
    {
        // Numerical Recipes' erfc Chebyshev fit; accurate to ~1.2e-7 everywhere.
        double z = Math.Abs(x);
        double t = 1 / (1 + 0.5 * z);
        double erfc = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
            t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return (float)(x >= 0 ? 1 - erfc : erfc - 1);
    }
}
