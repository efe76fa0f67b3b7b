namespace HelloDl.Kernels;

/// <summary>Geometry of a 2-D convolution or pooling window over [N, C, H, W] input.</summary>
public readonly record struct ConvGeometry(int Batch, int Channels, int Height, int Width, int KernelHeight, int KernelWidth,
    int Stride, int Padding, int OutputHeight, int OutputWidth)
{
    public int Patch => Channels * KernelHeight * KernelWidth;   // rows of the column matrix
    public int Positions => OutputHeight * OutputWidth;          // output pixels per image
    public int Columns => Batch * Positions;                     // columns of the column matrix

    public static ConvGeometry For(int batch, int channels, int height, int width, int kernelHeight, int kernelWidth, int stride, int padding)
    {
        int outHeight = (height + 2 * padding - kernelHeight) / stride + 1, outWidth = (width + 2 * padding - kernelWidth) / stride + 1;
        if (stride < 1 || padding < 0 || outHeight < 1 || outWidth < 1)
            throw new ArgumentException($"A {kernelHeight}x{kernelWidth} kernel with stride {stride} and padding {padding} does not fit a {height}x{width} input.");
        return new(batch, channels, height, width, kernelHeight, kernelWidth, stride, padding, outHeight, outWidth);
    }
}

/// <summary>
/// Unfolds image patches into the columns of a matrix so a convolution becomes one matrix
/// multiply: column (n, oy, ox) holds the C x KH x KW input values under that output pixel.
/// </summary>
public static class Im2Col
{
    /// <summary>Fills cols[Patch, Columns] from x[N, C, H, W]; positions in the padding read 0.</summary>
    public static void Unfold(ReadOnlySpan<float> x, Span<float> cols, ConvGeometry g) => Walk(g, x, cols, fold: false);

    /// <summary>The reverse: adds each column entry back onto the input position it came from (dx += fold(dcols)).</summary>
    public static void FoldAdd(ReadOnlySpan<float> cols, Span<float> dx, ConvGeometry g) => Walk(g, cols, dx, fold: true);

    static unsafe void Walk(ConvGeometry g, ReadOnlySpan<float> source, Span<float> target, bool fold)
    {
        fixed (float* src = source, dst = target)
        {
            float* s = src, d = dst;
            // Images are independent, so threads take whole images.
            Parallelism.For(g.Batch, (long)g.Columns * g.Patch, n =>
            {
                float* image = fold ? d : s, columns = fold ? s : d;
                image += (long)n * g.Channels * g.Height * g.Width;
                for (int c = 0; c < g.Channels; c++)
                    for (int ky = 0; ky < g.KernelHeight; ky++)
                        for (int kx = 0; kx < g.KernelWidth; kx++)
                        {
                            long row = (c * g.KernelHeight + ky) * g.KernelWidth + kx;
                            float* column = columns + row * g.Columns + (long)n * g.Positions;
                            float* plane = image + (long)c * g.Height * g.Width;
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
                                // Output columns whose input column ix = ox·stride - padding + kx lies inside the row.
                                int first = Math.Max(0, (g.Padding - kx + g.Stride - 1) / g.Stride);
                                int last = Math.Min(g.OutputWidth, (g.Width + g.Padding - kx + g.Stride - 1) / g.Stride);
                                if (g.Stride == 1)
                                {
                                    int count = Math.Max(0, last - first);
                                    float* inRow = source + first - g.Padding + kx, inLine = line + first;
                                    if (fold) for (int i = 0; i < count; i++) inRow[i] += inLine[i];
                                    else Buffer.MemoryCopy(inRow, inLine, count * sizeof(float), count * sizeof(float));
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
                                    for (int ox = Math.Max(first, last); ox < g.OutputWidth; ox++) line[ox] = 0;
                                }
                            }
                        }
            });
        }
    }
}
