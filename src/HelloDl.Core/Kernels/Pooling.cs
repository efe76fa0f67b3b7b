using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace HelloDl.Kernels;

/// <summary>Windows of a max pooling: kernel x kernel every stride, giving OutputHeight x OutputWidth per plane.</summary>
public readonly record struct PoolGeometry(int Kernel, int Stride, int OutputHeight, int OutputWidth)
{
    public int Positions => OutputHeight * OutputWidth;
}

/// <summary>Max pooling over planes of [N·C, H, W], windows clipped at the edge (ceil mode's last window).</summary>
public static unsafe class Pooling
{
    /// <summary>y = window maxima; argmax (when given: training needs it, inference does not) = index of each winner within its input plane.</summary>
    public static void MaxForward(ReadOnlySpan<float> x, Span<float> y, float[]? argmax, int planes, int height, int width, PoolGeometry window)
    {
        fixed (float* px = x, py = y, pa = argmax)
        {
            float* input = px, output = py, winners = pa;
            Parallelism.For(planes, (long)planes * height * width, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (plane) =>
            {
                long outBase = (long)plane * window.Positions;
                MaxForwardPlane(input + (long)plane * height * width, height, width, output + outBase, winners == null ? null : winners + outBase, window);
            });
        }
    }

    /// <summary>Pools one plane [height, width] into output [OH, OW]; winners (optional) get each maximum's index in the plane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void MaxForwardPlane(float* source, int height, int width, float* output, float* winners, PoolGeometry window)
    {
        int kernel = window.Kernel, stride = window.Stride, outHeight = window.OutputHeight, outWidth = window.OutputWidth;
        if (kernel == 2 && stride == 2)
        {
            MaxForward2x2(source, output, winners, height, width, outHeight, outWidth);
            return;
        }
        for (int oy = 0; oy < outHeight; oy++)
        {
            int y0 = oy * stride, y1 = Math.Min(y0 + kernel, height);
            for (int ox = 0; ox < outWidth; ox++)
            {
                int x0 = ox * stride, x1 = Math.Min(x0 + kernel, width);
                int best = y0 * width + x0;
                float max = source[best];
                for (int iy = y0; iy < y1; iy++)
                {
                    float* row = source + iy * width;
                    for (int ix = x0; ix < x1; ix++)
                        if (row[ix] > max) { max = row[ix]; best = iy * width + ix; }
                }
                output[oy * outWidth + ox] = max;
                if (winners != null) winners[oy * outWidth + ox] = best;
            }
        }
    }

    /// <summary>
    /// The common 2x2, stride 2 case without the general window loops; a window cut by the edge
    /// (ceil mode) repeats its last row or column, which cannot change the maximum or its first position.
    /// Branch-free: which of four activations wins is a coin toss the branch predictor would lose
    /// half the time, so maxima come from maxss and winners from compare results used as 0/1.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void MaxForward2x2(float* source, float* output, float* winners, int height, int width, int outHeight, int outWidth)
    {
        if (winners == null && Avx2.IsSupported)
        {
            MaxValues2x2(source, output, height, width, outHeight, outWidth);
            return;
        }
        for (int oy = 0; oy < outHeight; oy++)
        {
            int y0 = 2 * oy, y1 = Math.Min(y0 + 1, height - 1);
            float* row0 = source + y0 * width, row1 = source + y1 * width;
            for (int ox = 0; ox < outWidth; ox++)
            {
                int x0 = 2 * ox, x1 = Math.Min(x0 + 1, width - 1);
                float a = row0[x0], b = row0[x1], c = row1[x0], d = row1[x1];
                int bWins = Bit(b > a), dWins = Bit(d > c);
                float top = Max(a, b), bottom = Max(c, d);
                int bottomWins = Bit(bottom > top);
                int column = x0 + (bWins + bottomWins * (dWins - bWins)) * (x1 - x0);
                output[oy * outWidth + ox] = Max(top, bottom);
                if (winners != null) winners[oy * outWidth + ox] = (y0 + bottomWins * (y1 - y0)) * width + column;
            }
        }
    }

    /// <summary>
    /// Only the maxima (inference): eight windows at a time from sixteen columns of two rows, the
    /// rows' maximum first, then each pair of neighbouring columns'. The scalar loop with winners
    /// was a seventh of a CNN's inference.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void MaxValues2x2(float* source, float* output, int height, int width, int outHeight, int outWidth)
    {
        for (int oy = 0; oy < outHeight; oy++)
        {
            int y0 = 2 * oy, y1 = Math.Min(y0 + 1, height - 1);
            float* row0 = source + y0 * width, row1 = source + y1 * width, line = output + oy * outWidth;
            int ox = 0;
            for (; 2 * ox + 16 <= width; ox += 8)
            {
                var left = Avx.Max(Avx.LoadVector256(row0 + 2 * ox), Avx.LoadVector256(row1 + 2 * ox));
                var right = Avx.Max(Avx.LoadVector256(row0 + 2 * ox + 8), Avx.LoadVector256(row1 + 2 * ox + 8));
                // Even and odd columns side by side per 128-bit lane: windows 0 1 4 5 | 2 3 6 7, then put in order.
                var pairs = Avx.Max(Avx.Shuffle(left, right, 0b10_00_10_00), Avx.Shuffle(left, right, 0b11_01_11_01));
                Avx.Store(line + ox, Avx2.Permute4x64(pairs.AsDouble(), 0b11_01_10_00).AsSingle());
            }
            for (; ox < outWidth; ox++)
            {
                int x0 = 2 * ox, x1 = Math.Min(x0 + 1, width - 1);
                line[ox] = Max(Max(row0[x0], row0[x1]), Max(row1[x0], row1[x1]));
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int Bit(bool condition) => Unsafe.As<bool, byte>(ref condition);

    /// <summary>The larger of two floats with one maxss where available (no NaN special-casing: activations are finite).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float Max(float a, float b) => Sse.IsSupported
        ? Sse.MaxScalar(Vector128.CreateScalarUnsafe(b), Vector128.CreateScalarUnsafe(a)).ToScalar()
        : MathF.Max(a, b);

    /// <summary>dx[winner] += dy for every output position; with <paramref name="clearFirst"/>, dx = that (each plane cleared by the thread that fills it).</summary>
    public static void MaxBackward(ReadOnlySpan<float> dy, float[] argmax, Span<float> dx, int outPlane, int inPlane, bool clearFirst = false)
    {
        fixed (float* pdy = dy, pa = argmax, pdx = dx)
        {
            float* g = pdy, winners = pa, target = pdx;
            int planes = dy.Length / outPlane;
            // Planes are disjoint, so threads never add into the same input.
            Parallelism.For(planes, (long)dy.Length * 4, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (plane) =>
            {
                long o = (long)plane * outPlane;
                float* dxPlane = target + (long)plane * inPlane;
                if (clearFirst) new Span<float>(dxPlane, inPlane).Clear();
                for (int i = 0; i < outPlane; i++) dxPlane[(int)winners[o + i]] += g[o + i];
            });
        }
    }
}
