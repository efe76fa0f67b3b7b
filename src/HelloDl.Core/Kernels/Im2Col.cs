using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace HelloDl.Kernels;

/// <summary>Geometry of a 2-D convolution or pooling window over [N, C, H, W] input.</summary>
public readonly record struct ConvGeometry(int Batch, int Channels, int Height, int Width, int KernelHeight, int KernelWidth,
    int Stride, int Padding, int OutputHeight, int OutputWidth)
{
    public int Patch => Channels * KernelHeight * KernelWidth;   // rows of the column matrix
    public int Positions => OutputHeight * OutputWidth;          // output pixels per image
    public int Columns => Batch * Positions;                     // columns of the column matrix

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static ConvGeometry For(int batch, int channels, int height, int width, int kernelHeight, int kernelWidth, int stride, int padding)
    {
        int outHeight = (height + 2 * padding - kernelHeight) / stride + 1, outWidth = (width + 2 * padding - kernelWidth) / stride + 1;
        if (stride < 1 || padding < 0 || outHeight < 1 || outWidth < 1)
            throw new ArgumentException($"A {kernelHeight}x{kernelWidth} kernel with stride {stride} and padding {padding} does not fit a {height}x{width} input.");
        return new(batch, channels, height, width, kernelHeight, kernelWidth, stride, padding, outHeight, outWidth);
    }
}

/// <summary>
/// Unfolds the patches of one image into the columns of a matrix so its convolution becomes one
/// matrix multiply: column (oy, ox) of cols [C·KH·KW, OH·OW] holds the input values under that
/// output pixel. Rows of cols are <c>stride</c> floats apart, so several images can sit side by
/// side in one matrix; a few images at a time keep it in cache while it is multiplied.
/// </summary>
public static unsafe class Im2Col
{
    /// <summary>Fills cols from one image x [C, H, W]; positions in the padding read 0.</summary>
    public static void Unfold(float* image, float* cols, int rowStride, ConvGeometry g) => Walk(g, image, cols, rowStride, fold: false);

    /// <summary>The reverse: adds each column entry back onto the input position it came from (dx += fold(dcols)).</summary>
    public static void FoldAdd(float* cols, int rowStride, float* imageGradient, ConvGeometry g) => Walk(g, imageGradient, cols, rowStride, fold: true);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Walk(ConvGeometry g, float* image, float* columns, int rowStride, bool fold)
    {
        if (g.Stride == 1 && g.Padding == 0)
        {
            WalkUnpadded(g, image, columns, rowStride, fold);
            return;
        }
        for (int c = 0; c < g.Channels; c++)
            for (int ky = 0; ky < g.KernelHeight; ky++)
                for (int kx = 0; kx < g.KernelWidth; kx++)
                {
                    float* column = columns + (long)((c * g.KernelHeight + ky) * g.KernelWidth + kx) * rowStride;
                    float* plane = image + (long)c * g.Height * g.Width;
                    // Output columns whose input column ix = ox·stride - padding + kx lies inside the row.
                    int first = Math.Max(0, (g.Padding - kx + g.Stride - 1) / g.Stride);
                    int last = Math.Max(first, Math.Min(g.OutputWidth, (g.Width + g.Padding - kx + g.Stride - 1) / g.Stride));
                    for (int oy = 0; oy < g.OutputHeight; oy++)
                    {
                        int iy = oy * g.Stride - g.Padding + ky;
                        float* line = column + oy * g.OutputWidth;
                        if ((uint)iy >= (uint)g.Height)
                        {
                            if (!fold) new Span<float>(line, g.OutputWidth).Clear();
                            continue;
                        }
                        float* source = plane + iy * g.Width;
                        if (g.Stride == 1)
                        {
                            float* inRow = source + first - g.Padding + kx, inLine = line + first;
                            if (fold) AddTo(inLine, inRow, last - first);
                            else Copy(inRow, inLine, last - first);
                        }
                        else
                        {
                            for (int ox = first; ox < last; ox++)
                            {
                                int ix = ox * g.Stride - g.Padding + kx;
                                if (fold) source[ix] += line[ox];
                                else line[ox] = source[ix];
                            }
                        }
                        if (!fold)
                        {
                            for (int ox = 0; ox < first; ox++) line[ox] = 0;
                            for (int ox = last; ox < g.OutputWidth; ox++) line[ox] = 0;
                        }
                    }
                }
    }

    /// <summary>
    /// Stride 1 without padding (every layer of hello-dl's CNN): each column row is OH runs of OW
    /// inputs, W apart, with no edge to test. The general walk's per-run bookkeeping cost more than
    /// the copying itself for runs of 11 and 4 floats.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void WalkUnpadded(ConvGeometry g, float* image, float* columns, int rowStride, bool fold)
    {
        int width = g.Width, runs = g.OutputHeight, run = g.OutputWidth;
        for (int c = 0; c < g.Channels; c++)
            for (int ky = 0; ky < g.KernelHeight; ky++)
                for (int kx = 0; kx < g.KernelWidth; kx++)
                {
                    float* column = columns + (long)((c * g.KernelHeight + ky) * g.KernelWidth + kx) * rowStride;
                    float* source = image + (long)c * g.Height * width + ky * width + kx;
                    if (fold)
                        for (int oy = 0; oy < runs; oy++, source += width, column += run) AddTo(column, source, run);
                    else
                        for (int oy = 0; oy < runs; oy++, source += width, column += run) Copy(source, column, run);
                }
    }

    // Rows here are short (26, 11, 4 floats in hello-dl's CNN): a library call per row costs more
    // than the copy, and so did a scalar tail. The last vector overlaps the one before instead
    // (a copy may write a value twice).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Copy(float* source, float* target, int count)
    {
        if (count >= 8)
        {
            int i = 0;
            for (; i <= count - 8; i += 8) Vector256.Store(Vector256.Load(source + i), target + i);
            if (i < count) Vector256.Store(Vector256.Load(source + count - 8), target + count - 8);
        }
        else if (count >= 4)
        {
            Vector128.Store(Vector128.Load(source), target);
            if (count > 4) Vector128.Store(Vector128.Load(source + count - 4), target + count - 4);
        }
        else for (int i = 0; i < count; i++) target[i] = source[i];
    }

    /// <summary>
    /// target += source. As in <see cref="Copy"/>, no scalar tail: the last four floats are added
    /// by a vector that may overlap the one before, both writing the same sums. It loads before
    /// anything is stored, since loading what a store has just partly written stalls (runs of 4 and
    /// 11 floats took 1.15 and 4.9 G floats/s with a scalar tail on Zen 3).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void AddTo(float* source, float* target, int count)
    {
        if (count < 4)
        {
            for (int j = 0; j < count; j++) target[j] += source[j];
            return;
        }
        var tail = Vector128.Load(target + count - 4) + Vector128.Load(source + count - 4);
        int i = 0;
        for (; i <= count - 8; i += 8)
            Vector256.Store(Vector256.Load(target + i) + Vector256.Load(source + i), target + i);
        if (i < count - 4) Vector128.Store(Vector128.Load(target + i) + Vector128.Load(source + i), target + i);
        tail.Store(target + count - 4);
    }
}
