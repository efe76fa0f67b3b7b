using System.Numerics;
using System.Runtime.CompilerServices;

namespace HelloDl.Kernels;

/// <summary>
/// A 3x3, stride-1 convolution's forward as Winograd F(2x2, 3x3) (Lavin and Gray, 2015): each
/// 2x2 block of outputs ("tile") comes from its 4x4 input patch with 16 multiplies per channel pair
/// instead of 36, so the products shrink 2.25-fold. Per group of images the input patches are
/// transformed (V = Bᵀ d B), multiplied with the transformed filters (U = G g Gᵀ) as 16 products
/// M[ξ] = U[ξ] V[ξ], one per position ξ of the 4x4, and transformed back (Y = Aᵀ M A). The
/// backward stays with im2col: it is the exact gradient of the same convolution, whose values
/// differ from these by rounding only.
/// </summary>
public static unsafe class Winograd
{
    /// <summary>Positions of the 4x4 transformed tile: one product each.</summary>
    const int Points = 16;

    /// <summary>
    /// Input channels a layer needs for this to pay: each of the 16 products sums over them, and
    /// with one channel (a first layer on grey images) they would be sixteen products of depth 1.
    /// </summary>
    public const int MinimumChannels = 8;

    /// <summary>Tiles a group's products should have at least: a few 32-wide register tiles.</summary>
    const int MinimumTiles = 128;

    [ThreadStatic] static float[]? _filters;
    [ThreadStatic] static float[]? _channelsLast;
    [ThreadStatic] static int[]? _tileOutputs;
    [ThreadStatic] static float[]? _windowLayout;
    [ThreadStatic] static float[]? _transformedInput;
    [ThreadStatic] static float[]? _transformedOutput;

    /// <summary>Whether a convolution of this geometry can run as Winograd F(2x2, 3x3) and gains from it.</summary>
    public static bool Suits(ConvGeometry g) =>
        g is { KernelHeight: 3, KernelWidth: 3, Stride: 1 } && g.Channels >= MinimumChannels && g.Channels % Vector<float>.Count == 0;

    static int TilesAcross(ConvGeometry g) => (g.OutputWidth + 1) / 2;
    static int TilesDown(ConvGeometry g) => (g.OutputHeight + 1) / 2;

    /// <summary>Images per group of products for this geometry.</summary>
    public static int ImagesPerProduct(ConvGeometry g)
    {
        int tiles = TilesAcross(g) * TilesDown(g);
        return Math.Clamp((MinimumTiles + tiles - 1) / tiles, 1, g.Batch);
    }

    /// <summary>
    /// G ⊗ G, 16 x 9: row ξ = (y, x) of the 4x4 holds G[y][i]·G[x][j] at column (i, j) of the 3x3,
    /// so that U = G g Gᵀ for every filter at once is one product with the weights.
    /// </summary>
    static readonly float[] FilterTransform = BuildFilterTransform();

    static float[] BuildFilterTransform()
    {
        float[,] g = { { 1, 0, 0 }, { 0.5f, 0.5f, 0.5f }, { 0.5f, -0.5f, 0.5f }, { 0, 0, 1 } };
        var transform = new float[Points * 9];
        for (int y = 0; y < 4; y++)
            for (int x = 0; x < 4; x++)
                for (int i = 0; i < 3; i++)
                    for (int j = 0; j < 3; j++) transform[(y * 4 + x) * 9 + i * 3 + j] = g[y, i] * g[x, j];
        return transform;
    }

    /// <summary>
    /// U[ξ] = G g Gᵀ for every filter: 16 [outputs, channels] matrices, in the calling thread's buffer.
    /// One product (G ⊗ G) Wᵀ over the weights [outputs·channels, 9].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static ReadOnlySpan<float> TransformFilters(ReadOnlySpan<float> weight, int outputs, int channels)
    {
        int filters = outputs * channels;
        var transformed = new Span<float>(Convolution.Scratch(ref _filters, (long)Points * filters), Points * filters);
        Gemm.Multiply(FilterTransform, false, weight, true, transformed, Points, filters, 9);
        return transformed;
    }

    /// <summary>
    /// The convolution (without bias) of <paramref name="count"/> images [C, H, W] from
    /// <paramref name="images"/>, written to product [outputs, count·OH·OW], image after image along a row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Convolve(float* images, int count, ConvGeometry g, int outputs, float* filters, float* product) =>
        TransformOutput(MultiplyTransformed(images, count, g, outputs, filters), outputs, count, count * TilesAcross(g) * TilesDown(g), g, product);

    /// <summary>Whether a pooling's windows are this convolution's tiles: 2x2 windows every 2, as many as there are tiles.</summary>
    public static bool PoolsTiles(ConvGeometry g, PoolGeometry window) =>
        window is { Kernel: 2, Stride: 2 } && window.OutputWidth == TilesAcross(g) && window.OutputHeight == TilesDown(g);

    /// <summary>
    /// The convolution of <paramref name="count"/> images pooled by 2x2 windows that are its tiles (see
    /// <see cref="PoolsTiles"/>), plus the bias: pooled [count, outputs, PH·PW], and each window's
    /// winner (its index within the OH x OW plane, the first largest in row-major order, as
    /// <see cref="Pooling"/> picks) in <paramref name="winners"/> when not null. Each tile's
    /// maximum is taken as it is transformed back, so the convolution's output is never written.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ConvolvePooled(float* images, int count, ConvGeometry g, int outputs, float* filters, float* bias, float* pooled, float* winners) =>
        TransformOutputPooled(MultiplyTransformed(images, count, g, outputs, filters), outputs, count, g, bias, pooled, winners);

    /// <summary>M[ξ] = U[ξ] V[ξ] for the images' transformed input V: [16, outputs, tiles], in the calling thread's buffer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static float* MultiplyTransformed(float* images, int count, ConvGeometry g, int outputs, float* filters)
    {
        int channels = g.Channels, tilesPerImage = TilesAcross(g) * TilesDown(g), tiles = count * tilesPerImage;
        int matrix = outputs * channels;
        // V[ξ] is [tiles, channels], channels along a row: the input transform runs across channels.
        float* v = Convolution.Scratch(ref _transformedInput, (long)Points * tiles * channels);
        // With slack for a last vector of tiles that runs past the end.
        float* m = Convolution.Scratch(ref _transformedOutput, (long)Points * outputs * tiles + Vector<float>.Count);
        long imageSize = (long)channels * g.Height * g.Width;
        for (int i = 0; i < count; i++) TransformInput(images + i * imageSize, g, v + (long)i * tilesPerImage * channels, (long)tiles * channels);
        // U[ξ] is read where it lies: the products are at most a few hundred tiles wide.
        for (int point = 0; point < Points; point++)
            Gemm.Multiply(new ReadOnlySpan<float>(filters + (long)point * matrix, matrix), false,
                new ReadOnlySpan<float>(v + (long)point * tiles * channels, tiles * channels), true,
                new Span<float>(m + (long)point * outputs * tiles, outputs * tiles), outputs, tiles, channels);
        return m;
    }

    /// <summary>
    /// V[ξ][t][c] = (Bᵀ d B)[ξ] for the 4x4 patch d of every tile t of one image (zeros past the
    /// edges and in the padding). The image is first laid out channels-last, with its zero border,
    /// so each patch position is a run of channels and the transform runs on whole vectors of them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void TransformInput(float* image, ConvGeometry g, float* v, long pointStride)
    {
        int across = TilesAcross(g), down = TilesDown(g), channels = g.Channels, height = g.Height, width = g.Width, pad = g.Padding;
        int paddedWidth = 2 * across + 2, paddedHeight = 2 * down + 2;
        float* laid = Convolution.Scratch(ref _channelsLast, (long)paddedHeight * paddedWidth * channels);
        new Span<float>(laid, paddedHeight * paddedWidth * channels).Clear();
        for (int c = 0; c < channels; c++)
        {
            float* plane = image + (long)c * height * width;
            for (int y = Math.Max(0, pad), yEnd = Math.Min(paddedHeight, height + pad); y < yEnd; y++)
            {
                float* source = plane + (y - pad) * width - pad, target = laid + (long)y * paddedWidth * channels + c;
                for (int x = Math.Max(0, pad), xEnd = Math.Min(paddedWidth, width + pad); x < xEnd; x++) target[x * channels] = source[x];
            }
        }
        int lanes = Vector<float>.Count;
        long rowStride = (long)paddedWidth * channels;
        Span<Vector<float>> d = stackalloc Vector<float>[16];
        for (int ty = 0; ty < down; ty++)
            for (int tx = 0; tx < across; tx++)
            {
                float* patch = laid + 2 * ty * rowStride + 2 * tx * channels;
                float* t = v + (long)(ty * across + tx) * channels;
                for (int c = 0; c < channels; c += lanes)
                {
                    // Bᵀ d: rows (d0 - d2, d1 + d2, d2 - d1, d1 - d3), then the same along each row.
                    for (int x = 0; x < 4; x++)
                    {
                        var a = Vector.Load(patch + x * channels + c);
                        var b = Vector.Load(patch + rowStride + x * channels + c);
                        var e = Vector.Load(patch + 2 * rowStride + x * channels + c);
                        var h = Vector.Load(patch + 3 * rowStride + x * channels + c);
                        d[x] = a - e;
                        d[4 + x] = b + e;
                        d[8 + x] = e - b;
                        d[12 + x] = b - h;
                    }
                    for (int y = 0; y < 4; y++)
                    {
                        var a = d[y * 4];
                        var b = d[y * 4 + 1];
                        var e = d[y * 4 + 2];
                        var h = d[y * 4 + 3];
                        (a - e).Store(t + (y * 4) * pointStride + c);
                        (b + e).Store(t + (y * 4 + 1) * pointStride + c);
                        (e - b).Store(t + (y * 4 + 2) * pointStride + c);
                        (b - h).Store(t + (y * 4 + 3) * pointStride + c);
                    }
                }
            }
    }

    /// <summary>
    /// Y = Aᵀ M A for every tile and output channel, written to product [outputs, count·OH·OW]; a
    /// tile's row or column past the output's edge is dropped. Vectorised across tiles, which lie
    /// side by side in M; where each tile's outputs go is worked out once.
    /// </summary>
    static void TransformOutput(float* m, int outputs, int count, int tiles, ConvGeometry g, float* product)
    {
        _tileOutputs ??= [];
        if (_tileOutputs.Length < tiles) _tileOutputs = new int[tiles];
        fixed (int* offsets = _tileOutputs)
            TransformOutput(m, outputs, count, tiles, g, product, offsets);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void TransformOutput(float* m, int outputs, int count, int tiles, ConvGeometry g, float* product, int* offsets)
    {
        int across = TilesAcross(g), down = TilesDown(g);
        int outHeight = g.OutputHeight, outWidth = g.OutputWidth, positions = g.Positions, width = count * positions;
        for (int i = 0, tile = 0; i < count; i++)
            for (int ty = 0; ty < down; ty++)
                for (int tx = 0; tx < across; tx++, tile++)
                {
                    // The tile's first output, times 4, plus which of its others fall inside: 1 right, 2 below.
                    offsets[tile] = (i * positions + 2 * ty * outWidth + 2 * tx) * 4
                        | (2 * tx + 1 < outWidth ? 1 : 0) | (2 * ty + 1 < outHeight ? 2 : 0);
                }
        long pointStride = (long)outputs * tiles;
        int lanes = Vector<float>.Count;
        float* y = stackalloc float[4 * lanes];
        for (int o = 0; o < outputs; o++)
        {
            float* row = m + (long)o * tiles;
            float* target = product + (long)o * width;
            for (int t0 = 0; t0 < tiles; t0 += lanes)
            {
                int n = Math.Min(lanes, tiles - t0);
                // A short last step reads the next row (or M's slack) too: its lanes are dropped.
                TransformTiles(row + t0, pointStride, out var y00, out var y01, out var y10, out var y11);
                y00.Store(y);
                y01.Store(y + lanes);
                y10.Store(y + 2 * lanes);
                y11.Store(y + 3 * lanes);
                for (int t = 0; t < n; t++)
                {
                    float* output = target + (offsets[t0 + t] >> 2);
                    int edge = offsets[t0 + t] & 3;
                    output[0] = y[t];
                    if ((edge & 1) != 0) output[1] = y[lanes + t];
                    if ((edge & 2) != 0)
                    {
                        output[outWidth] = y[2 * lanes + t];
                        if (edge == 3) output[outWidth + 1] = y[3 * lanes + t];
                    }
                }
            }
        }
    }
    /// <summary>
    /// Aᵀ M A for every tile, and at once the tile's largest value plus the bias, with its winner.
    /// Vectorised across one image's tiles, which are its windows in order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void TransformOutputPooled(float* m, int outputs, int count, ConvGeometry g, float* bias, float* pooled, float* winners)
    {
        int across = TilesAcross(g), down = TilesDown(g), tilesPerImage = across * down, tiles = count * tilesPerImage;
        int outHeight = g.OutputHeight, outWidth = g.OutputWidth, lanes = Vector<float>.Count;
        // Per window of an image: its first output's index in the plane, and whether the outputs right of it and below it exist.
        int padded = (tilesPerImage + lanes - 1) / lanes * lanes;
        float* firsts = Convolution.Scratch(ref _windowLayout, 3L * padded);
        int* right = (int*)(firsts + padded), below = (int*)(firsts + 2 * padded);
        for (int tile = 0; tile < padded; tile++)
        {
            int ty = tile / across, tx = tile % across;
            firsts[tile] = 2 * ty * outWidth + 2 * tx;
            right[tile] = tile < tilesPerImage && 2 * tx + 1 < outWidth ? -1 : 0;
            below[tile] = tile < tilesPerImage && 2 * ty + 1 < outHeight ? -1 : 0;
        }
        long pointStride = (long)outputs * tiles;
        var missing = new Vector<float>(float.NegativeInfinity);
        var one = Vector<float>.One;
        var width = new Vector<float>(outWidth);
        float* y = stackalloc float[4 * lanes];
        for (int o = 0; o < outputs; o++)
        {
            var b = new Vector<float>(bias[o]);
            for (int i = 0; i < count; i++)
            {
                float* row = m + (long)o * tiles + (long)i * tilesPerImage;
                long at = ((long)i * outputs + o) * tilesPerImage;
                for (int t0 = 0; t0 < tilesPerImage; t0 += lanes)
                {
                    int n = Math.Min(lanes, tilesPerImage - t0);
                    // A short last step reads the next tiles (or M's slack) too: their lanes are dropped.
                    TransformTiles(row + t0, pointStride, out var y00, out var y01, out var y10, out var y11);
                    var hasRight = Vector.Load(right + t0).As<int, float>();
                    var hasBelow = Vector.Load(below + t0).As<int, float>();
                    var first = Vector.Load(firsts + t0);
                    // Row-major order, strictly larger to take over: the first largest wins, as in Pooling.
                    var best = y00;
                    var winner = first;
                    var candidate = Vector.ConditionalSelect(hasRight, y01, missing);
                    var larger = Vector.GreaterThan(candidate, best);
                    best = Vector.ConditionalSelect(larger, candidate, best);
                    winner = Vector.ConditionalSelect(larger, first + one, winner);
                    candidate = Vector.ConditionalSelect(hasBelow, y10, missing);
                    larger = Vector.GreaterThan(candidate, best);
                    best = Vector.ConditionalSelect(larger, candidate, best);
                    winner = Vector.ConditionalSelect(larger, first + width, winner);
                    candidate = Vector.ConditionalSelect(hasRight & hasBelow, y11, missing);
                    larger = Vector.GreaterThan(candidate, best);
                    best = Vector.ConditionalSelect(larger, candidate, best);
                    winner = Vector.ConditionalSelect(larger, first + width + one, winner);
                    best += b;
                    if (n == lanes)
                    {
                        best.Store(pooled + at + t0);
                        if (winners != null) winner.Store(winners + at + t0);
                        continue;
                    }
                    best.Store(y);
                    winner.Store(y + lanes);
                    for (int t = 0; t < n; t++)
                    {
                        pooled[at + t0 + t] = y[t];
                        if (winners != null) winners[at + t0 + t] = y[lanes + t];
                    }
                }
            }
        }
    }

    /// <summary>Aᵀ M A for <c>Vector&lt;float&gt;.Count</c> side-by-side tiles, output by output (row-major 2x2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void TransformTiles(float* m, long pointStride, out Vector<float> y00, out Vector<float> y01, out Vector<float> y10, out Vector<float> y11)
    {
        // Aᵀ = [[1, 1, 1, 0], [0, 1, -1, -1]]: down each column x, then along the two rows.
        Vector<float> top0, top1, top2, top3, bottom0, bottom1, bottom2, bottom3;
        Column(m, 0, pointStride, out top0, out bottom0);
        Column(m, 1, pointStride, out top1, out bottom1);
        Column(m, 2, pointStride, out top2, out bottom2);
        Column(m, 3, pointStride, out top3, out bottom3);
        y00 = top0 + top1 + top2;
        y01 = top1 - top2 - top3;
        y10 = bottom0 + bottom1 + bottom2;
        y11 = bottom1 - bottom2 - bottom3;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Column(float* m, int x, long pointStride, out Vector<float> top, out Vector<float> bottom)
    {
        var a = Vector.Load(m + x * pointStride);
        var b = Vector.Load(m + (4 + x) * pointStride);
        var c = Vector.Load(m + (8 + x) * pointStride);
        var d = Vector.Load(m + (12 + x) * pointStride);
        top = a + b + c;
        bottom = b - c - d;
    }
}
