using System.Numerics;
using System.Runtime.CompilerServices;

namespace HelloDl.Kernels;

/// <summary>
/// A 3x3, stride-1 convolution's forward as Winograd F(2x2, 3x3) (Lavin and Gray, 2015): each
/// 2x2 block of outputs ("tile") comes from its 4x4 input patch with 16 multiplies per channel pair
/// instead of 36, so the products shrink 2.25-fold. Per group of images the input patches are
/// transformed (V = Bᵀ d B), multiplied with the transformed filters (U = G g Gᵀ) as 16 products
/// M[ξ] = U[ξ] V[ξ], one per position ξ of the 4x4, and transformed back (Y = Aᵀ M A). Where a
/// 2x2 pooling's windows are the tiles (hello-dl's layers), the backward runs in the same domain
/// (<see cref="BackwardPooled"/>); elsewhere it stays with im2col, the exact gradient of the same
/// convolution, whose values differ from these by rounding only.
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

    /// <summary>
    /// Tiles a group's products should have at least: two 32-wide register tiles. Fewer images a
    /// group than for 128 keep V and M in L2 (2-6% faster on Zen 4, scratch harness).
    /// </summary>
    const int MinimumTiles = 64;

    [ThreadStatic] static float[]? _filters;
    [ThreadStatic] static float[]? _packedFilters;
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
    /// U[ξ] for every filter (<see cref="TransformFilters"/>), each packed as the right operand of the
    /// backward's dV = dMᵀ U, in the calling thread's buffer: packed once per batch rather than once
    /// per group of images and point. <see cref="PackedFilterLength"/> floats apart.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static ReadOnlySpan<float> TransformAndPackFilters(ReadOnlySpan<float> weight, int outputs, int channels)
    {
        var transformed = TransformFilters(weight, outputs, channels);
        int matrix = outputs * channels, length = PackedFilterLength(outputs, channels);
        var packed = new Span<float>(Convolution.Scratch(ref _packedFilters, (long)Points * length), Points * length);
        for (int point = 0; point < Points; point++)
            Gemm.PackRight(transformed.Slice(point * matrix, matrix), false, outputs, channels, packed.Slice(point * length, length));
        return packed;
    }

    static int PackedFilterLength(int outputs, int channels) => Gemm.PackedRightLength(outputs, channels);

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
        int channels = g.Channels, tiles = count * TilesAcross(g) * TilesDown(g);
        int matrix = outputs * channels;
        long inputStride = PointStride((long)tiles * channels), outputStride = PointStride((long)outputs * tiles);
        float* v = TransformInputs(images, count, g);
        float* m = TransformedOutputs(outputs, tiles);
        // The GEMM reads U[ξ] where it lies for products up to 16 panels wide (512 tiles with AVX-512, 256 with
        // AVX2); hello-dl's groups have 64-72.
        for (int point = 0; point < Points; point++)
            Gemm.Multiply(new ReadOnlySpan<float>(filters + (long)point * matrix, matrix), false,
                new ReadOnlySpan<float>(v + point * inputStride, tiles * channels), true,
                new Span<float>(m + point * outputStride, outputs * tiles), outputs, tiles, channels);
        return m;
    }

    /// <summary>
    /// Floats from one matrix of V (or M) to the next, for matrices of <paramref name="matrix"/> floats:
    /// rounded up to 4 KB, and one cache line more. The transforms read or write all sixteen at once;
    /// a multiple of 4 KB apart (hello-dl's third layer's are 16 and 32 KB) they fall in one set of
    /// the 8-way L1 and evict each other. The gap of at least 16 floats after each takes a whole
    /// vector that runs past its end.
    /// </summary>
    static long PointStride(long matrix) => (matrix + 1023) / 1024 * 1024 + 16;

    /// <summary>
    /// V[ξ] for the images, [16, tiles, channels] (channels along a row: the input transform runs
    /// across them; <see cref="PointStride"/> apart), in the calling thread's buffer.
    /// </summary>
    static float* TransformInputs(float* images, int count, ConvGeometry g)
    {
        int channels = g.Channels, tilesPerImage = TilesAcross(g) * TilesDown(g), tiles = count * tilesPerImage;
        long stride = PointStride((long)tiles * channels);
        float* v = Convolution.Scratch(ref _transformedInput, Points * stride);
        long imageSize = (long)channels * g.Height * g.Width;
        for (int i = 0; i < count; i++) TransformInput(images + i * imageSize, g, v + (long)i * tilesPerImage * channels, stride);
        return v;
    }

    /// <summary>
    /// M[ξ] (or its gradient), [16, outputs, tiles] (<see cref="PointStride"/> apart), in the calling
    /// thread's buffer; a last vector of tiles that runs past a matrix's end stays in the gap after it.
    /// </summary>
    static float* TransformedOutputs(int outputs, int tiles) =>
        Convolution.Scratch(ref _transformedOutput, Points * PointStride((long)outputs * tiles));

    /// <summary>
    /// The gradients of <see cref="ConvolvePooled"/> for <paramref name="count"/> images from the
    /// pooled gradient dPooled [count, outputs, PH·PW], the recorded winners and, when not null, the
    /// derivatives of a GELU after the pooling: dU [16, outputs, channels] and dBias [outputs] are
    /// added to (sums over images, transformed into dWeight later by <see cref="AddFilterGradient"/>),
    /// and dx [count, C, H, W] is added to unless null. A window's gradient reaches only its winner,
    /// so the output gradient of each tile is one of four fixed patterns times that gradient. These
    /// are the exact gradients of the Winograd forward: dU = Σ dM Vᵀ, dV = Uᵀ dM, dx = B dV Bᵀ.
    /// <paramref name="packedFilters"/> is U as <see cref="TransformAndPackFilters"/> gives it (needed only for dx).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BackwardPooled(float* images, int count, ConvGeometry g, int outputs, float* packedFilters, float* dPooled, float* winners, float* slopes,
        float* filterGradient, float* biasGradient, float* inputGradient)
    {
        int channels = g.Channels, tilesPerImage = TilesAcross(g) * TilesDown(g), tiles = count * tilesPerImage, matrix = outputs * channels;
        long inputStride = PointStride((long)tiles * channels), outputStride = PointStride((long)outputs * tiles);
        float* v = TransformInputs(images, count, g);
        float* dm = TransformedOutputs(outputs, tiles);
        OutputGradientFromPooled(dPooled, winners, slopes, count, outputs, g, dm, biasGradient);
        for (int point = 0; point < Points; point++)
            Gemm.Multiply(new ReadOnlySpan<float>(dm + point * outputStride, outputs * tiles), false,
                new ReadOnlySpan<float>(v + point * inputStride, tiles * channels), false,
                new Span<float>(filterGradient + (long)point * matrix, matrix), outputs, channels, tiles, accumulate: true);
        if (inputGradient == null) return;
        // dV[ξ] = dM[ξ]ᵀ U[ξ], [tiles, channels], into V's buffer (V is no longer needed).
        float* dv = v;
        int packedLength = PackedFilterLength(outputs, channels);
        for (int point = 0; point < Points; point++)
            Gemm.MultiplyPackedRight(new ReadOnlySpan<float>(dm + point * outputStride, outputs * tiles), true,
                new ReadOnlySpan<float>(packedFilters + (long)point * packedLength, packedLength),
                new Span<float>(dv + point * inputStride, tiles * channels), tiles, channels, outputs);
        long imageSize = (long)channels * g.Height * g.Width;
        for (int i = 0; i < count; i++) AddInputGradient(dv + (long)i * tilesPerImage * channels, inputStride, g, inputGradient + i * imageSize);
    }

    /// <summary>dWeight [outputs·channels, 9] += Gᵀ dU G for every filter: one product of dU with G ⊗ G.</summary>
    public static void AddFilterGradient(ReadOnlySpan<float> filterGradient, Span<float> weightGradient, int outputs, int channels) =>
        Gemm.Multiply(filterGradient, true, FilterTransform, false, weightGradient, outputs * channels, 9, Points, accumulate: true);

    /// <summary>Floats of dU for one layer: 16 [outputs, channels] matrices.</summary>
    public static int FilterGradientLength(int outputs, int channels) => Points * outputs * channels;

    /// <summary>
    /// dM [16, outputs, tiles] from the pooled gradients: dM = A dY Aᵀ with dY the window's gradient
    /// at its winner and 0 elsewhere, so row y, column x of a tile's dM is a(y)·a(x) times that
    /// gradient, a = [1, 1, 1, 0] for the winner's row (column) in the tile's first and
    /// [0, 1, -1, -1] in its second; each output channel's sum of the gradients is added to biasGradient.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void OutputGradientFromPooled(float* dPooled, float* winners, float* slopes, int count, int outputs, ConvGeometry g, float* dm, float* biasGradient)
    {
        int tilesPerImage = TilesAcross(g) * TilesDown(g), tiles = count * tilesPerImage, lanes = Vector<float>.Count;
        float* firsts = WindowLayout(g, out _, out _);
        long pointStride = PointStride((long)outputs * tiles);
        float* tail = stackalloc float[2 * lanes];
        var width = new Vector<float>(g.OutputWidth);
        var zero = Vector<float>.Zero;
        var one = Vector<float>.One;
        for (int o = 0; o < outputs; o++)
        {
            var sum = zero;
            for (int i = 0; i < count; i++)
            {
                long at = ((long)i * outputs + o) * tilesPerImage;
                float* target = dm + (long)o * tiles + (long)i * tilesPerImage;
                for (int t0 = 0; t0 < tilesPerImage; t0 += lanes)
                {
                    int n = Math.Min(lanes, tilesPerImage - t0);
                    Vector<float> gradient, winner;
                    if (n == lanes)
                    {
                        gradient = Vector.Load(dPooled + at + t0);
                        if (slopes != null) gradient *= Vector.Load(slopes + at + t0);
                        winner = Vector.Load(winners + at + t0);
                    }
                    else
                    {
                        // The image's last windows: zero gradients past them.
                        new Span<float>(tail, 2 * lanes).Clear();
                        for (int t = 0; t < n; t++)
                        {
                            tail[t] = dPooled[at + t0 + t] * (slopes == null ? 1 : slopes[at + t0 + t]);
                            tail[lanes + t] = winners[at + t0 + t];
                        }
                        gradient = Vector.Load(tail);
                        winner = Vector.Load(tail + lanes);
                    }
                    sum += gradient;
                    var offset = winner - Vector.Load(firsts + t0);
                    var lower = Vector.GreaterThanOrEqual(offset, width);
                    var right = Vector.Equals(offset - Vector.ConditionalSelect(lower, width, zero), one);
                    // Row factors times the gradient, then column factors.
                    var r0 = Vector.ConditionalSelect(lower, zero, gradient);
                    var r2 = Vector.ConditionalSelect(lower, -gradient, gradient);
                    var r3 = Vector.ConditionalSelect(lower, -gradient, zero);
                    var c0 = Vector.ConditionalSelect(right, zero, one);
                    var c2 = Vector.ConditionalSelect(right, -one, one);
                    var c3 = Vector.ConditionalSelect(right, -one, zero);
                    // Whole vectors: past an image's last window they land on tiles written later (the next
                    // image's or the next channel's) or, past the last row of a dM[ξ], in the gap after it.
                    StoreRow(target + t0, 0, pointStride, r0, c0, c2, c3);
                    StoreRow(target + t0, 1, pointStride, gradient, c0, c2, c3);
                    StoreRow(target + t0, 2, pointStride, r2, c0, c2, c3);
                    StoreRow(target + t0, 3, pointStride, r3, c0, c2, c3);
                }
            }
            biasGradient[o] += Vector.Sum(sum);
        }
    }

    /// <summary>dM row y: the row's factor times each column's factor (the second column's is 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreRow(float* target, int y, long pointStride, Vector<float> row, Vector<float> c0, Vector<float> c2, Vector<float> c3)
    {
        (row * c0).Store(target + (y * 4) * pointStride);
        row.Store(target + (y * 4 + 1) * pointStride);
        (row * c2).Store(target + (y * 4 + 2) * pointStride);
        (row * c3).Store(target + (y * 4 + 3) * pointStride);
    }

    /// <summary>
    /// dx += B dV Bᵀ for every tile of one image, the inverse of <see cref="TransformInput"/>: each
    /// tile's 4x4 patch gradient is added up channels-last (patches overlap by two), then added to
    /// dx [C, H, W] without the padding border.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void AddInputGradient(float* dv, long pointStride, ConvGeometry g, float* dx)
    {
        int across = TilesAcross(g), down = TilesDown(g), channels = g.Channels, height = g.Height, width = g.Width, pad = g.Padding, lanes = Vector<float>.Count;
        float* laid = ChannelsLast(g, out int paddedWidth, out int top, out int bottom, out int left, out int right);
        long rowStride = (long)paddedWidth * channels;
        Span<Vector<float>> e = stackalloc Vector<float>[16];
        for (int ty = 0; ty < down; ty++)
            for (int tx = 0; tx < across; tx++)
            {
                float* patch = laid + 2 * ty * rowStride + 2 * tx * channels;
                float* t = dv + (long)(ty * across + tx) * channels;
                for (int c = 0; c < channels; c += lanes)
                {
                    // B = [[1, 0, 0, 0], [0, 1, -1, 1], [-1, 1, 1, 0], [0, 0, 0, -1]]: down each column, then along each row.
                    for (int x = 0; x < 4; x++)
                    {
                        var a = Vector.Load(t + x * pointStride + c);
                        var b = Vector.Load(t + (4 + x) * pointStride + c);
                        var d = Vector.Load(t + (8 + x) * pointStride + c);
                        var h = Vector.Load(t + (12 + x) * pointStride + c);
                        e[x] = a;
                        e[4 + x] = b - d + h;
                        e[8 + x] = b + d - a;
                        e[12 + x] = -h;
                    }
                    for (int y = 0; y < 4; y++)
                    {
                        float* row = patch + y * rowStride + c;
                        var a = e[y * 4];
                        var b = e[y * 4 + 1];
                        var d = e[y * 4 + 2];
                        var h = e[y * 4 + 3];
                        (Vector.Load(row) + a).Store(row);
                        (Vector.Load(row + channels) + b - d + h).Store(row + channels);
                        (Vector.Load(row + 2 * channels) + b + d - a).Store(row + 2 * channels);
                        (Vector.Load(row + 3 * channels) - h).Store(row + 3 * channels);
                    }
                }
            }
        for (int c = 0; c < channels; c++)
        {
            float* plane = dx + (long)c * height * width;
            for (int y = top; y < bottom; y++)
            {
                float* target = plane + (y - pad) * width - pad, source = laid + y * rowStride + c;
                for (int x = left; x < right; x++) target[x] += source[x * channels];
            }
        }
    }

    /// <summary>
    /// A cleared channels-last image [padded height, padded width, C] covering every tile's 4x4
    /// patch, in the calling thread's buffer: the padding and where the tiles overhang the image
    /// stay 0. Rows [top, bottom) and columns [left, right) of it are the image's own.
    /// </summary>
    static float* ChannelsLast(ConvGeometry g, out int paddedWidth, out int top, out int bottom, out int left, out int right)
    {
        paddedWidth = 2 * TilesAcross(g) + 2;
        int paddedHeight = 2 * TilesDown(g) + 2;
        (top, bottom) = (Math.Max(0, g.Padding), Math.Min(paddedHeight, g.Height + g.Padding));
        (left, right) = (Math.Max(0, g.Padding), Math.Min(paddedWidth, g.Width + g.Padding));
        long length = (long)paddedHeight * paddedWidth * g.Channels;
        float* laid = Convolution.Scratch(ref _channelsLast, length);
        new Span<float>(laid, (int)length).Clear();
        return laid;
    }

    /// <summary>
    /// V[ξ][t][c] = (Bᵀ d B)[ξ] for the 4x4 patch d of every tile t of one image (zeros past the
    /// edges and in the padding). The image is first laid out channels-last, with its zero border,
    /// so each patch position is a run of channels and the transform runs on whole vectors of them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void TransformInput(float* image, ConvGeometry g, float* v, long pointStride)
    {
        int across = TilesAcross(g), down = TilesDown(g), channels = g.Channels, height = g.Height, width = g.Width, pad = g.Padding, lanes = Vector<float>.Count;
        float* laid = ChannelsLast(g, out int paddedWidth, out int top, out int bottom, out int left, out int right);
        long rowStride = (long)paddedWidth * channels;
        for (int c = 0; c < channels; c++)
        {
            float* plane = image + (long)c * height * width;
            for (int y = top; y < bottom; y++)
            {
                float* source = plane + (y - pad) * width - pad, target = laid + y * rowStride + c;
                for (int x = left; x < right; x++) target[x * channels] = source[x];
            }
        }
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
        long pointStride = PointStride((long)outputs * tiles);
        int lanes = Vector<float>.Count;
        float* y = stackalloc float[4 * lanes];
        for (int o = 0; o < outputs; o++)
        {
            float* row = m + (long)o * tiles;
            float* target = product + (long)o * width;
            for (int t0 = 0; t0 < tiles; t0 += lanes)
            {
                int n = Math.Min(lanes, tiles - t0);
                // A short last step reads the next row (or the gap after M[ξ]) too: its lanes are dropped.
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
        int outWidth = g.OutputWidth, lanes = Vector<float>.Count;
        float* firsts = WindowLayout(g, out int* right, out int* below);
        long pointStride = PointStride((long)outputs * tiles);
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
                    // A short last step reads the next tiles (or the gap after M[ξ]) too: their lanes are dropped.
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

    /// <summary>
    /// Per window (tile) of an image, padded to whole vectors: its first output's index in the
    /// OH x OW plane, and masks (-1 or 0) of whether the outputs right of it and below it exist.
    /// </summary>
    static float* WindowLayout(ConvGeometry g, out int* right, out int* below)
    {
        int across = TilesAcross(g), tilesPerImage = across * TilesDown(g), lanes = Vector<float>.Count;
        int padded = (tilesPerImage + lanes - 1) / lanes * lanes;
        float* firsts = Convolution.Scratch(ref _windowLayout, 3L * padded);
        right = (int*)(firsts + padded);
        below = (int*)(firsts + 2 * padded);
        for (int tile = 0; tile < padded; tile++)
        {
            int ty = tile / across, tx = tile % across;
            firsts[tile] = 2 * ty * g.OutputWidth + 2 * tx;
            right[tile] = tile < tilesPerImage && 2 * tx + 1 < g.OutputWidth ? -1 : 0;
            below[tile] = tile < tilesPerImage && 2 * ty + 1 < g.OutputHeight ? -1 : 0;
        }
        return firsts;
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
