using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace HelloDl.Kernels;

/// <summary>
/// Vectorised element-wise kernels for the activations on the hot path. GELU uses the exact erf
/// form with Abramowitz and Stegun's 7.1.26 approximation of erf (|error| &lt; 1.5e-7, below
/// float precision) and one pass over the data: e^{-x²/2} is computed once per element, in
/// registers, and gives both Φ(x) and the derivative the backward rule needs.
/// </summary>
public static unsafe class Activations
{
    const float InvSqrt2 = 0.70710678118654752f;
    const float InvSqrt2Pi = 0.39894228040143268f;
    const int ChunkLength = 16 * 1024;   // elements per piece of work for the threads

    /// <summary>
    /// y = x Φ(x); when <paramref name="derivative"/> is not empty it also gets
    /// dy/dx = Φ(x) + x φ(x) (φ the standard normal density), so backward is one multiply-add.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void GeluForward(ReadOnlySpan<float> x, Span<float> y, Span<float> derivative)
    {
        int length = x.Length;
        bool wantDerivative = !derivative.IsEmpty;
        fixed (float* px = x, py = y, pd = derivative)
        {
            float* input = px, output = py, slope = pd;
            Parallelism.For((length + ChunkLength - 1) / ChunkLength, (long)length * 32, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (chunk) =>
            {
                int start = chunk * ChunkLength;
                GeluRun(input + start, output + start, wantDerivative ? slope + start : null, Math.Min(length, start + ChunkLength) - start);
            });
        }
    }

    /// <summary>
    /// GELU over one run on the calling thread (output may be the input): the whole-tensor op's
    /// pieces, and the epilogue a convolution applies to its pooled planes while they are in cache.
    /// <paramref name="slope"/> (null: not wanted) gets the derivative.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void GeluRun(float* input, float* output, float* slope, int count)
    {
        int i = 0;
        // Sixteen lanes where the CPU has them: the same instructions do twice the work, and the
        // erf's polynomials made GELU some 40% of the first convolution's forward time.
        if (Vector512.IsHardwareAccelerated)
            for (; i <= count - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var v = Vector512.Load(input + i);
                var gauss = ExpNegativeHalfSquare(v);
                var phi = Cdf(v, gauss);
                (v * phi).Store(output + i);
                if (slope != null) (phi + v * gauss * Vector512.Create(InvSqrt2Pi)).Store(slope + i);
            }
        for (; i <= count - Vector256<float>.Count; i += Vector256<float>.Count)
        {
            var v = Vector256.Load(input + i);
            var gauss = ExpNegativeHalfSquare(v);
            var phi = Cdf(v, gauss);
            (v * phi).Store(output + i);
            if (slope != null) (phi + v * gauss * Vector256.Create(InvSqrt2Pi)).Store(slope + i);
        }
        for (; i < count; i++)
        {
            float value = input[i], gauss = MathF.Exp(-0.5f * value * value), phi = CdfScalar(value, gauss);
            output[i] = value * phi;
            if (slope != null) slope[i] = phi + value * gauss * InvSqrt2Pi;
        }
    }

    /// <summary>dx += dy · derivative (or dx = when <paramref name="overwrite"/>), the derivative stored by <see cref="GeluForward"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void GeluBackward(ReadOnlySpan<float> derivative, ReadOnlySpan<float> dy, Span<float> dx, bool overwrite = false)
    {
        int count = dy.Length;
        if (derivative.Length != count || dx.Length < count) throw new ArgumentException($"{count} derivatives and room for {count} gradients are needed.");
        // A plain loop compiled with the step: TensorPrimitives' generic one ran unoptimised, then
        // instrumented, through a first epoch. Multiplied, then added, as it did.
        fixed (float* pd = derivative, pg = dy, px = dx)
        {
            int i = 0;
            for (; i <= count - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var product = Vector256.Load(pg + i) * Vector256.Load(pd + i);
                (overwrite ? product : Vector256.Load(px + i) + product).Store(px + i);
            }
            for (; i < count; i++) px[i] = overwrite ? pg[i] * pd[i] : px[i] + pg[i] * pd[i];
        }
    }

    /// <summary>
    /// e^{-x²/2}: 2^t with t = -x²/2 · log₂e split into a whole power n (built in the exponent
    /// bits) and a fraction f in [-½, ½], whose 2^f = e^{f ln 2} takes a 7-term Taylor series
    /// (relative error about 1e-7). Arguments below -87 give e^-87 rather than a denormal, which
    /// is zero for every use here.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> ExpNegativeHalfSquare(Vector256<float> x)
    {
        var t = Vector256.Max(x * x * Vector256.Create(-0.5f * 1.44269504088896341f), Vector256.Create(-125.5f));
        var n = Vector256.Floor(t + Vector256.Create(0.5f));
        var g = (t - n) * Vector256.Create(0.69314718055994531f);
        var poly = Vector256.Create(1f / 720);
        poly = Vector256.FusedMultiplyAdd(poly, g, Vector256.Create(1f / 120));
        poly = Vector256.FusedMultiplyAdd(poly, g, Vector256.Create(1f / 24));
        poly = Vector256.FusedMultiplyAdd(poly, g, Vector256.Create(1f / 6));
        poly = Vector256.FusedMultiplyAdd(poly, g, Vector256.Create(0.5f));
        poly = Vector256.FusedMultiplyAdd(poly, g, Vector256<float>.One);
        poly = Vector256.FusedMultiplyAdd(poly, g, Vector256<float>.One);
        var scale = Vector256.ShiftLeft(Vector256.ConvertToInt32(n) + Vector256.Create(127), 23).AsSingle();
        return poly * scale;
    }

    /// <summary>As the 256-bit <see cref="ExpNegativeHalfSquare(Vector256{float})"/>, sixteen lanes at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<float> ExpNegativeHalfSquare(Vector512<float> x)
    {
        var t = Vector512.Max(x * x * Vector512.Create(-0.5f * 1.44269504088896341f), Vector512.Create(-125.5f));
        var n = Vector512.Floor(t + Vector512.Create(0.5f));
        var g = (t - n) * Vector512.Create(0.69314718055994531f);
        var poly = Vector512.Create(1f / 720);
        poly = Vector512.FusedMultiplyAdd(poly, g, Vector512.Create(1f / 120));
        poly = Vector512.FusedMultiplyAdd(poly, g, Vector512.Create(1f / 24));
        poly = Vector512.FusedMultiplyAdd(poly, g, Vector512.Create(1f / 6));
        poly = Vector512.FusedMultiplyAdd(poly, g, Vector512.Create(0.5f));
        poly = Vector512.FusedMultiplyAdd(poly, g, Vector512<float>.One);
        poly = Vector512.FusedMultiplyAdd(poly, g, Vector512<float>.One);
        var scale = Vector512.ShiftLeft(Vector512.ConvertToInt32(n) + Vector512.Create(127), 23).AsSingle();
        return poly * scale;
    }

    /// <summary>As the 256-bit <see cref="Cdf(Vector256{float}, Vector256{float})"/>, sixteen lanes at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<float> Cdf(Vector512<float> x, Vector512<float> gauss)
    {
        var z = Vector512.Abs(x) * Vector512.Create(InvSqrt2);
        var t = Vector512<float>.One / (Vector512<float>.One + Vector512.Create(0.3275911f) * z);
        var poly = Vector512.Create(1.061405429f);
        poly = Vector512.FusedMultiplyAdd(poly, t, Vector512.Create(-1.453152027f));
        poly = Vector512.FusedMultiplyAdd(poly, t, Vector512.Create(1.421413741f));
        poly = Vector512.FusedMultiplyAdd(poly, t, Vector512.Create(-0.284496736f));
        poly = Vector512.FusedMultiplyAdd(poly, t, Vector512.Create(0.254829592f));
        var erfAbs = Vector512<float>.One - poly * t * gauss;
        var erf = Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512<float>.Zero), -erfAbs, erfAbs);
        return Vector512.Create(0.5f) * (Vector512<float>.One + erf);
    }

    /// <summary>Φ(x) from x and e^{-x²/2}.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> Cdf(Vector256<float> x, Vector256<float> gauss)
    {
        var z = Vector256.Abs(x) * Vector256.Create(InvSqrt2);
        var t = Vector256<float>.One / (Vector256<float>.One + Vector256.Create(0.3275911f) * z);
        var poly = Vector256.Create(1.061405429f);
        poly = Vector256.FusedMultiplyAdd(poly, t, Vector256.Create(-1.453152027f));
        poly = Vector256.FusedMultiplyAdd(poly, t, Vector256.Create(1.421413741f));
        poly = Vector256.FusedMultiplyAdd(poly, t, Vector256.Create(-0.284496736f));
        poly = Vector256.FusedMultiplyAdd(poly, t, Vector256.Create(0.254829592f));
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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ReluForward(ReadOnlySpan<float> x, Span<float> y)
    {
        int i = 0;
        // maxps itself (the library's Max orders NaN and -0 with several more instructions per
        // vector); with x second, a NaN passes through, so a diverging run still shows.
        if (System.Runtime.Intrinsics.X86.Avx.IsSupported)
            for (; i <= x.Length - Vector256<float>.Count; i += Vector256<float>.Count)
                System.Runtime.Intrinsics.X86.Avx.Max(Vector256<float>.Zero, Vector256.Create(x.Slice(i, Vector256<float>.Count))).CopyTo(y.Slice(i));
        for (; i < x.Length; i++) y[i] = x[i] < 0 ? 0 : x[i];
    }

    /// <summary>dx += dy where y &gt; 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
