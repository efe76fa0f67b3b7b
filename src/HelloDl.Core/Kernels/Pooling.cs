namespace HelloDl.Kernels;

/// <summary>Max pooling over planes of [N·C, H, W], windows clipped at the edge (ceil mode's last window).</summary>
public static unsafe class Pooling
{
    /// <summary>y = window maxima; argmax = index of each winner within its input plane.</summary>
    public static void MaxForward(ReadOnlySpan<float> x, Span<float> y, float[] argmax, int planes, int height, int width,
        int outHeight, int outWidth, int kernel, int stride)
    {
        fixed (float* px = x, py = y, pa = argmax)
        {
            float* input = px, output = py, winners = pa;
            Parallelism.For(planes, (long)planes * height * width, plane =>
            {
                float* source = input + (long)plane * height * width;
                long outBase = (long)plane * outHeight * outWidth;
                if (kernel == 2 && stride == 2)
                {
                    MaxForward2x2(source, output + outBase, winners + outBase, height, width, outHeight, outWidth);
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
                        output[outBase + oy * outWidth + ox] = max;
                        winners[outBase + oy * outWidth + ox] = best;
                    }
                }
            });
        }
    }

    /// <summary>
    /// The common 2x2, stride 2 case without the general window loops; a window cut by the edge
    /// (ceil mode) repeats its last row or column, which cannot change the maximum or its first position.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    static void MaxForward2x2(float* source, float* output, float* winners, int height, int width, int outHeight, int outWidth)
    {
        for (int oy = 0; oy < outHeight; oy++)
        {
            int y0 = 2 * oy, y1 = Math.Min(y0 + 1, height - 1);
            float* row0 = source + y0 * width, row1 = source + y1 * width;
            for (int ox = 0; ox < outWidth; ox++)
            {
                // Written as selects, not branches: which of four activations wins is a coin toss
                // the branch predictor would lose half the time.
                int x0 = 2 * ox, x1 = Math.Min(x0 + 1, width - 1);
                float a = row0[x0], b = row0[x1], c = row1[x0], d = row1[x1];
                bool bWins = b > a, dWins = d > c;
                float top = bWins ? b : a, bottom = dWins ? d : c;
                int topIndex = y0 * width + (bWins ? x1 : x0), bottomIndex = y1 * width + (dWins ? x1 : x0);
                bool bottomWins = bottom > top;
                output[oy * outWidth + ox] = bottomWins ? bottom : top;
                winners[oy * outWidth + ox] = bottomWins ? bottomIndex : topIndex;
            }
        }
    }

    /// <summary>dx[winner] += dy for every output position.</summary>
    public static void MaxBackward(ReadOnlySpan<float> dy, float[] argmax, Span<float> dx, int outPlane, int inPlane)
    {
        fixed (float* pdy = dy, pa = argmax, pdx = dx)
        {
            float* g = pdy, winners = pa, target = pdx;
            int planes = dy.Length / outPlane;
            // Planes are disjoint, so threads never add into the same input.
            Parallelism.For(planes, (long)dy.Length * 4, plane =>
            {
                long o = (long)plane * outPlane;
                float* dxPlane = target + (long)plane * inPlane;
                for (int i = 0; i < outPlane; i++) dxPlane[(int)winners[o + i]] += g[o + i];
            });
        }
    }
}
