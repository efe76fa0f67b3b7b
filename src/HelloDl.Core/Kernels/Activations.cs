using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace HelloDl.Kernels;

/// <summary>
/// Vectorised element-wise kernels for the activations on the hot path. GELU uses the exact erf
/// form with Abramowitz and Stegun's 7.1.26 approximation of erf (|error| &lt; 1.5e-7, below
/// float precision), evaluated 8 or 16 lanes at a time.
/// </summary>
public static class Activations
{
    const float InvSqrt2 = 0.70710678118654752f;
    const float InvSqrt2Pi = 0.39894228040143268f;

    /// <summary>y = x Φ(x); also stores Φ(x) = (1 + erf(x/√2)) / 2, which the backward rule needs.</summary>
    public static void GeluForward(ReadOnlySpan<float> x, Span<float> y, Span<float> cdf)
    {
        // e^{-z²} with z = x/√2, vectorised by TensorPrimitives; then the erf polynomial.
        TensorPrimitives.Multiply(x, x, cdf);
        TensorPrimitives.Multiply(cdf, -0.5f, cdf);
        TensorPrimitives.Exp(cdf, cdf);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= x.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var v = Vector256.Create(x.Slice(i, Vector256<float>.Count));
                var phi = Cdf(v, Vector256.Create(cdf.Slice(i, Vector256<float>.Count)));
                phi.CopyTo(cdf.Slice(i));
                (v * phi).CopyTo(y.Slice(i));
            }
        }
        for (; i < x.Length; i++)
        {
            float phi = CdfScalar(x[i], cdf[i]);
            cdf[i] = phi;
            y[i] = x[i] * phi;
        }
    }

    /// <summary>dx += dy (Φ(x) + x φ(x)), φ the standard normal density; <paramref name="scratch"/> as long as x.</summary>
    public static void GeluBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> cdf, ReadOnlySpan<float> dy, Span<float> dx, Span<float> scratch)
    {
        TensorPrimitives.Multiply(x, x, scratch);
        TensorPrimitives.Multiply(scratch, -0.5f, scratch);
        TensorPrimitives.Exp(scratch, scratch);                       // √(2π) φ(x)
        TensorPrimitives.Multiply(scratch, x, scratch);
        TensorPrimitives.MultiplyAdd(scratch, InvSqrt2Pi, cdf, scratch); // Φ + x φ
        TensorPrimitives.MultiplyAdd(scratch, dy, dx, dx);
    }

    /// <summary>Φ(x) from x and e^{-x²/2}.</summary>
    static Vector256<float> Cdf(Vector256<float> x, Vector256<float> gauss)
    {
        var z = Vector256.Abs(x) * Vector256.Create(InvSqrt2);
        var t = Vector256<float>.One / (Vector256<float>.One + Vector256.Create(0.3275911f) * z);
        var poly = Vector256.Create(1.061405429f);
        poly = poly * t + Vector256.Create(-1.453152027f);
        poly = poly * t + Vector256.Create(1.421413741f);
        poly = poly * t + Vector256.Create(-0.284496736f);
        poly = poly * t + Vector256.Create(0.254829592f);
        var erfAbs = Vector256<float>.One - poly * t * gauss;
        var erf = Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256<float>.Zero), -erfAbs, erfAbs);
        return Vector256.Create(0.5f) * (Vector256<float>.One + erf);
    }

    static float CdfScalar(float x, float gauss)
    {
        float z = MathF.Abs(x) * InvSqrt2;
        float t = 1 / (1 + 0.3275911f * z);
        float poly = ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t + 0.254829592f) * t;
        float erfAbs = 1 - poly * gauss;
        return 0.5f * (1 + (x < 0 ? -erfAbs : erfAbs));
    }

    /// <summary>y = max(x, 0).</summary>
    public static void ReluForward(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Max(x, 0f, y);

    /// <summary>dx += dy where y &gt; 0.</summary>
    public static void ReluBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= y.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var positive = Vector256.GreaterThan(Vector256.Create(y.Slice(i, Vector256<float>.Count)), Vector256<float>.Zero);
                var g = Vector256.Create(dy.Slice(i, Vector256<float>.Count)) & positive;
                (Vector256.Create(dx.Slice(i, Vector256<float>.Count)) + g).CopyTo(dx.Slice(i));
            }
        }
        for (; i < y.Length; i++) if (y[i] > 0) dx[i] += dy[i];
    }
}
