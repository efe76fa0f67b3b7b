using System.Numerics;
using System.Runtime.CompilerServices;

namespace HelloDl.Kernels;

/// <summary>
/// A 3x3, stride-1 convolution's forward as Winograd F(4x4, 3x3) (Lavin and Gray, 2015): each
/// 4x4 block of outputs ("tile") comes from its 6x6 input patch with 36 multiplies per channel pair
/// instead of 144, so the products shrink 4-fold (F(2x2, 3x3), which this replaced, saved 2.25-fold).
/// Per group of images the input patches are transformed (V = Bᵀ d B), multiplied with the
/// transformed filters (U = G g Gᵀ) as 36 products M[ξ] = U[ξ] V[ξ], one per position ξ of the 6x6,
/// and transformed back (Y = Aᵀ M A). Where a 2x2 pooling's windows lie in the tiles, four to a tile
/// (hello-dl's layers), the backward runs in the same domain (<see cref="BackwardPooled"/>); elsewhere
/// it stays with im2col, the exact gradient of the same convolution, whose values differ from these
/// by rounding only. The transforms' factors (up to 8, and G's sixths) round more than F(2x2)'s
/// ±1 did: about 1e-6 of a layer's values in float32 (WinogradTests bounds it).
/// </summary>
public static unsafe class Winograd
{
    /// <summary>Outputs along a tile's side.</summary>
    const int TileSize = 4;

    /// <summary>Inputs along the side of a tile's patch: the tile and the kernel's overhang.</summary>
    const int PatchSize = TileSize + 2;

    /// <summary>Positions of the 6x6 transformed tile: one product each.</summary>
    const int Points = PatchSize * PatchSize;

    /// <summary>
    /// Input channels a layer needs for this to pay: each of the 36 products sums over them, and
    /// with one channel (a first layer on grey images) they would be 36 products of depth 1.
    /// </summary>
    public const int MinimumChannels = 8;

    /// <summary>Tiles a group's products should have at least: two 32-wide register tiles.</summary>
    const int MinimumTiles = 64;

    [ThreadStatic] static float[]? _filters;
    [ThreadStatic] static float[]? _packedFilters;
    [ThreadStatic] static float[]? _channelsLast;
    [ThreadStatic] static float[]? _tileLayout;
    [ThreadStatic] static float[]? _transformedInput;
    [ThreadStatic] static float[]? _transformedOutput;

    /// <summary>
    /// Whether a convolution of this geometry can run as Winograd F(4x4, 3x3) and gains from it: outputs
    /// smaller than 3x3 would leave most of a tile's products unused, where im2col needs no more multiplies.
    /// </summary>
    public static bool Suits(ConvGeometry g) =>
        g is { KernelHeight: 3, KernelWidth: 3, Stride: 1, OutputHeight: >= 3, OutputWidth: >= 3 }
        && g.Channels >= MinimumChannels && g.Channels % Vector<float>.Count == 0;

    static int TilesAcross(ConvGeometry g) => (g.OutputWidth + TileSize - 1) / TileSize;
    static int TilesDown(ConvGeometry g) => (g.OutputHeight + TileSize - 1) / TileSize;

    /// <summary>
    /// Images per group of products for this geometry: enough for <see cref="MinimumTiles"/>, but no
    /// more than half the batch, so that two threads have a group each (hello-dl's third layer has one tile an image).
    /// </summary>
    public static int ImagesPerProduct(ConvGeometry g)
    {
        int tiles = TilesAcross(g) * TilesDown(g);
        return Math.Clamp((MinimumTiles + tiles - 1) / tiles, 1, Math.Max(1, (g.Batch + 1) / 2));
    }

    /// <summary>
    /// G ⊗ G, 36 x 9: row ξ = (y, x) of the 6x6 holds G[y][i]·G[x][j] at column (i, j) of the 3x3,
    /// so that U = G g Gᵀ for every filter at once is one product with the weights.
    /// </summary>
    static readonly float[] FilterTransform = BuildFilterTransform();

    static float[] BuildFilterTransform()
    {
        double[,] g =
        {
            { 1 / 4.0, 0, 0 }, { -1 / 6.0, -1 / 6.0, -1 / 6.0 }, { -1 / 6.0, 1 / 6.0, -1 / 6.0 },
            { 1 / 24.0, 1 / 12.0, 1 / 6.0 }, { 1 / 24.0, -1 / 12.0, 1 / 6.0 }, { 0, 0, 1 },
        };
        var transform = new float[Points * 9];
        for (int y = 0; y < PatchSize; y++)
            for (int x = 0; x < PatchSize; x++)
                for (int i = 0; i < 3; i++)
                    for (int j = 0; j < 3; j++) transform[(y * PatchSize + x) * 9 + i * 3 + j] = (float)(g[y, i] * g[x, j]);
        return transform;
    }

    /// <summary>
    /// U[ξ] = G g Gᵀ for every filter: 36 [outputs, channels] matrices, in the calling thread's buffer.
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

    /// <summary>
    /// Whether a pooling's windows lie in this convolution's tiles, four to a tile: 2x2 windows every 2
    /// that cover the whole output (the last, clipped one of ceil mode included).
    /// </summary>
    public static bool PoolsTiles(ConvGeometry g, PoolGeometry window) =>
        window is { Kernel: 2, Stride: 2 } && window.OutputWidth == (g.OutputWidth + 1) / 2 && window.OutputHeight == (g.OutputHeight + 1) / 2;

    /// <summary>
    /// The convolution of <paramref name="count"/> images pooled by 2x2 windows in its tiles (see
    /// <see cref="PoolsTiles"/>), plus the bias: pooled [count, outputs, PH·PW], and each window's
    /// winner (its index within the OH x OW plane, the first largest in row-major order, as
    /// <see cref="Pooling"/> picks) in <paramref name="winners"/> when not null. Each tile's
    /// windows' maxima are taken as it is transformed back, so the convolution's output is never written.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ConvolvePooled(float* images, int count, ConvGeometry g, int outputs, float* filters, float* bias, float* pooled, float* winners) =>
        TransformOutputPooled(MultiplyTransformed(images, count, g, outputs, filters), outputs, count, g, bias, pooled, winners);

    /// <summary>M[ξ] = U[ξ] V[ξ] for the images' transformed input V: [36, outputs, tiles], in the calling thread's buffer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static float* MultiplyTransformed(float* images, int count, ConvGeometry g, int outputs, float* filters)
    {
        int channels = g.Channels, tiles = count * TilesAcross(g) * TilesDown(g);
        int matrix = outputs * channels;
        long inputStride = PointStride((long)tiles * channels), outputStride = PointStride((long)outputs * tiles);
        float* v = TransformInputs(images, count, g);
        float* m = TransformedOutputs(outputs, tiles);
        // The GEMM reads U[ξ] where it lies for products up to 16 panels wide (512 tiles with AVX-512, 256 with
        // AVX2); hello-dl's groups have 64-72 tiles.
        for (int point = 0; point < Points; point++)
            Gemm.Multiply(new ReadOnlySpan<float>(filters + (long)point * matrix, matrix), false,
                new ReadOnlySpan<float>(v + point * inputStride, tiles * channels), true,
                new Span<float>(m + point * outputStride, outputs * tiles), outputs, tiles, channels);
        return m;
    }

    /// <summary>
    /// Floats from one matrix of V (or M) to the next, for matrices of <paramref name="matrix"/> floats:
    /// rounded up to 4 KB, and one cache line more. The transforms read or write many of them at once;
    /// a multiple of 4 KB apart they fall in one set of the 8-way L1 and evict each other. The gap
    /// of at least 16 floats after each takes a whole vector that runs past its end.
    /// </summary>
    static long PointStride(long matrix) => (matrix + 1023) / 1024 * 1024 + 16;

    /// <summary>
    /// V[ξ] for the images, [36, tiles, channels] (channels along a row: the input transform runs
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
    /// M[ξ] (or its gradient), [36, outputs, tiles] (<see cref="PointStride"/> apart), in the calling
    /// thread's buffer; a last vector of tiles that runs past a matrix's end stays in the gap after it.
    /// </summary>
    static float* TransformedOutputs(int outputs, int tiles) =>
        Convolution.Scratch(ref _transformedOutput, Points * PointStride((long)outputs * tiles));

    /// <summary>
    /// The gradients of <see cref="ConvolvePooled"/> for <paramref name="count"/> images from the
    /// pooled gradient dPooled [count, outputs, PH·PW], the recorded winners and, when not null, the
    /// derivatives of a GELU after the pooling: dU [36, outputs, channels] and dBias [outputs] are
    /// added to (sums over images, transformed into dWeight later by <see cref="AddFilterGradient"/>),
    /// and dx [count, C, H, W] is added to unless null. A window's gradient reaches only its winner,
    /// so each tile's output gradient has at most four values, one in each of its windows. These
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

    /// <summary>Floats of dU for one layer: 36 [outputs, channels] matrices.</summary>
    public static int FilterGradientLength(int outputs, int channels) => Points * outputs * channels;


    /// <summary>
    /// dM [36, outputs, tiles] from the pooled gradients: dM = A dY Aᵀ, with dY each window's gradient at
    /// its winner and 0 elsewhere in the tile; each output channel's sum of the gradients is added to biasGradient.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void OutputGradientFromPooled(float* dPooled, float* winners, float* slopes, int count, int outputs, ConvGeometry g, float* dm, float* biasGradient)
    {
        int tiles = count * TilesAcross(g) * TilesDown(g), outWidth = g.OutputWidth, lanes = Vector<float>.Count;
        var layout = Layout(g, count, outputs);
        long pointStride = PointStride((long)outputs * tiles), pooledPlane = PooledPositions(g);
        // Each of a vector of tiles' four windows: their gradients, then their winners.
        float* gathered = stackalloc float[2 * WindowsPerTile * lanes];
        Span<Vector<float>> dy = stackalloc Vector<float>[TileSize * TileSize];
        Span<Vector<float>> rows = stackalloc Vector<float>[TileSize * PatchSize];
        var width = new Vector<float>(outWidth);
        var zero = Vector<float>.Zero;
        var one = Vector<float>.One;
        for (int o = 0; o < outputs; o++)
        {
            var sum = zero;
            float* target = dm + (long)o * tiles;
            long plane = o * pooledPlane;
            for (int t0 = 0; t0 < tiles; t0 += lanes)
            {
                int n = Math.Min(lanes, tiles - t0);
                // Past the last tile, and where a window is past the pooled plane's edge, the gradient stays 0.
                new Span<float>(gathered, 2 * WindowsPerTile * lanes).Clear();
                for (int t = 0; t < n; t++)
                    for (int w = 0; w < WindowsPerTile; w++)
                    {
                        int at = layout.Windows[w * layout.Padded + t0 + t];
                        if (at < 0) continue;
                        gathered[w * lanes + t] = dPooled[plane + at] * (slopes == null ? 1 : slopes[plane + at]);
                        gathered[(WindowsPerTile + w) * lanes + t] = winners[plane + at];
                    }
                var first = Vector.Load(layout.Firsts + t0);
                for (int w = 0; w < WindowsPerTile; w++)
                {
                    int r = 2 * (w >> 1), c = 2 * (w & 1);
                    var gradient = Vector.Load(gathered + w * lanes);
                    sum += gradient;
                    // The winner's place in its window: below the window's first row, right of its first column.
                    var offset = Vector.Load(gathered + (WindowsPerTile + w) * lanes) - first - new Vector<float>(r * outWidth + c);
                    var lower = Vector.GreaterThanOrEqual(offset, width);
                    var right = Vector.Equals(offset - Vector.ConditionalSelect(lower, width, zero), one);
                    var top = Vector.ConditionalSelect(lower, zero, gradient);
                    var bottom = Vector.ConditionalSelect(lower, gradient, zero);
                    dy[r * TileSize + c] = Vector.ConditionalSelect(right, zero, top);
                    dy[r * TileSize + c + 1] = Vector.ConditionalSelect(right, top, zero);
                    dy[(r + 1) * TileSize + c] = Vector.ConditionalSelect(right, zero, bottom);
                    dy[(r + 1) * TileSize + c + 1] = Vector.ConditionalSelect(right, bottom, zero);
                }
                // A along each row of dY, then down each of the six columns; whole vectors: past the last
                // tile they land on the next channel's tiles (written later) or in the gap after dM[ξ].
                for (int k = 0; k < TileSize; k++)
                    FromOutputs(dy[k * TileSize], dy[k * TileSize + 1], dy[k * TileSize + 2], dy[k * TileSize + 3],
                        out rows[k * PatchSize], out rows[k * PatchSize + 1], out rows[k * PatchSize + 2],
                        out rows[k * PatchSize + 3], out rows[k * PatchSize + 4], out rows[k * PatchSize + 5]);
                for (int x = 0; x < PatchSize; x++)
                {
                    FromOutputs(rows[x], rows[PatchSize + x], rows[2 * PatchSize + x], rows[3 * PatchSize + x],
                        out var m0, out var m1, out var m2, out var m3, out var m4, out var m5);
                    float* column = target + t0 + x * pointStride;
                    m0.Store(column);
                    m1.Store(column + PatchSize * pointStride);
                    m2.Store(column + 2 * PatchSize * pointStride);
                    m3.Store(column + 3 * PatchSize * pointStride);
                    m4.Store(column + 4 * PatchSize * pointStride);
                    m5.Store(column + 5 * PatchSize * pointStride);
                }
            }
            biasGradient[o] += Vector.Sum(sum);
        }
    }

    /// <summary>
    /// dx += B dV Bᵀ for every tile of one image, the adjoint of <see cref="TransformInput"/>: each
    /// tile's 6x6 patch gradient is added up channels-last (patches overlap by two), then added to
    /// dx [C, H, W] without the padding border.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void AddInputGradient(float* dv, long pointStride, ConvGeometry g, float* dx)
    {
        int across = TilesAcross(g), down = TilesDown(g), channels = g.Channels, height = g.Height, width = g.Width, pad = g.Padding, lanes = Vector<float>.Count;
        float* laid = ChannelsLast(g, out int paddedWidth, out int top, out int bottom, out int left, out int right);
        long rowStride = (long)paddedWidth * channels;
        Span<Vector<float>> e = stackalloc Vector<float>[Points];
        for (int ty = 0; ty < down; ty++)
            for (int tx = 0; tx < across; tx++)
            {
                float* patch = laid + TileSize * ty * rowStride + TileSize * tx * channels;
                float* t = dv + (long)(ty * across + tx) * channels;
                for (int c = 0; c < channels; c += lanes)
                {
                    // The forward's two steps undone in reverse: B along each row of dV, then down each column.
                    for (int k = 0; k < PatchSize; k++)
                    {
                        float* row = t + k * PatchSize * pointStride + c;
                        FromTransformedInput(Vector.Load(row), Vector.Load(row + pointStride), Vector.Load(row + 2 * pointStride),
                            Vector.Load(row + 3 * pointStride), Vector.Load(row + 4 * pointStride), Vector.Load(row + 5 * pointStride),
                            out e[k * PatchSize], out e[k * PatchSize + 1], out e[k * PatchSize + 2],
                            out e[k * PatchSize + 3], out e[k * PatchSize + 4], out e[k * PatchSize + 5]);
                    }
                    for (int x = 0; x < PatchSize; x++)
                    {
                        FromTransformedInput(e[x], e[PatchSize + x], e[2 * PatchSize + x], e[3 * PatchSize + x], e[4 * PatchSize + x], e[5 * PatchSize + x],
                            out var d0, out var d1, out var d2, out var d3, out var d4, out var d5);
                        float* column = patch + x * channels + c;
                        (Vector.Load(column) + d0).Store(column);
                        (Vector.Load(column + rowStride) + d1).Store(column + rowStride);
                        (Vector.Load(column + 2 * rowStride) + d2).Store(column + 2 * rowStride);
                        (Vector.Load(column + 3 * rowStride) + d3).Store(column + 3 * rowStride);
                        (Vector.Load(column + 4 * rowStride) + d4).Store(column + 4 * rowStride);
                        (Vector.Load(column + 5 * rowStride) + d5).Store(column + 5 * rowStride);
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
    /// A cleared channels-last image [padded height, padded width, C] covering every tile's 6x6
    /// patch, in the calling thread's buffer: the padding and where the tiles overhang the image
    /// stay 0. Rows [top, bottom) and columns [left, right) of it are the image's own.
    /// </summary>
    static float* ChannelsLast(ConvGeometry g, out int paddedWidth, out int top, out int bottom, out int left, out int right)
    {
        paddedWidth = TileSize * TilesAcross(g) + 2;
        int paddedHeight = TileSize * TilesDown(g) + 2;
        (top, bottom) = (Math.Max(0, g.Padding), Math.Min(paddedHeight, g.Height + g.Padding));
        (left, right) = (Math.Max(0, g.Padding), Math.Min(paddedWidth, g.Width + g.Padding));
        long length = (long)paddedHeight * paddedWidth * g.Channels;
        float* laid = Convolution.Scratch(ref _channelsLast, length);
        new Span<float>(laid, (int)length).Clear();
        return laid;
    }

    /// <summary>
    /// V[ξ][t][c] = (Bᵀ d B)[ξ] for the 6x6 patch d of every tile t of one image (zeros past the
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
        Span<Vector<float>> d = stackalloc Vector<float>[Points];
        for (int ty = 0; ty < down; ty++)
            for (int tx = 0; tx < across; tx++)
            {
                float* patch = laid + TileSize * ty * rowStride + TileSize * tx * channels;
                float* t = v + (long)(ty * across + tx) * channels;
                for (int c = 0; c < channels; c += lanes)
                {
                    // Bᵀ down each column of the patch, then along each row.
                    for (int x = 0; x < PatchSize; x++)
                    {
                        float* column = patch + x * channels + c;
                        ToTransformedInput(Vector.Load(column), Vector.Load(column + rowStride), Vector.Load(column + 2 * rowStride),
                            Vector.Load(column + 3 * rowStride), Vector.Load(column + 4 * rowStride), Vector.Load(column + 5 * rowStride),
                            out d[x], out d[PatchSize + x], out d[2 * PatchSize + x], out d[3 * PatchSize + x], out d[4 * PatchSize + x], out d[5 * PatchSize + x]);
                    }
                    for (int k = 0; k < PatchSize; k++)
                    {
                        ToTransformedInput(d[k * PatchSize], d[k * PatchSize + 1], d[k * PatchSize + 2], d[k * PatchSize + 3], d[k * PatchSize + 4], d[k * PatchSize + 5],
                            out var r0, out var r1, out var r2, out var r3, out var r4, out var r5);
                        float* row = t + k * PatchSize * pointStride + c;
                        r0.Store(row);
                        r1.Store(row + pointStride);
                        r2.Store(row + 2 * pointStride);
                        r3.Store(row + 3 * pointStride);
                        r4.Store(row + 4 * pointStride);
                        r5.Store(row + 5 * pointStride);
                    }
                }
            }
    }

    /// <summary>
    /// Y = Aᵀ M A for every tile and output channel, written to product [outputs, count·OH·OW]; a
    /// tile's rows and columns past the output's edge are dropped. Vectorised across tiles, which lie
    /// side by side in M.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void TransformOutput(float* m, int outputs, int count, int tiles, ConvGeometry g, float* product)
    {
        int tilesPerImage = TilesAcross(g) * TilesDown(g), outWidth = g.OutputWidth, positions = g.Positions, width = count * positions, lanes = Vector<float>.Count;
        var layout = Layout(g, count, outputs);
        long pointStride = PointStride((long)outputs * tiles);
        Span<Vector<float>> columns = stackalloc Vector<float>[TileSize * PatchSize];
        Span<Vector<float>> y = stackalloc Vector<float>[TileSize * TileSize];
        float* values = stackalloc float[TileSize * TileSize * lanes];
        for (int o = 0; o < outputs; o++)
        {
            float* row = m + (long)o * tiles;
            float* target = product + (long)o * width;
            for (int t0 = 0; t0 < tiles; t0 += lanes)
            {
                // A short last step reads the next row (or the gap after M[ξ]) too: its lanes are dropped.
                TransformTiles(row + t0, pointStride, columns, y);
                for (int k = 0; k < TileSize * TileSize; k++) y[k].Store(values + k * lanes);
                for (int t = 0; t < Math.Min(lanes, tiles - t0); t++)
                {
                    int tile = t0 + t, rows = (int)layout.Rows[tile], cols = (int)layout.Columns[tile];
                    float* output = target + tile / tilesPerImage * positions + (int)layout.Firsts[tile];
                    for (int r = 0; r < rows; r++)
                        for (int c = 0; c < cols; c++) output[r * outWidth + c] = values[(r * TileSize + c) * lanes + t];
                }
            }
        }
    }

    /// <summary>Pooling windows in a tile: 2x2 of them.</summary>
    const int WindowsPerTile = TileSize / 2 * (TileSize / 2);

    /// <summary>Positions of the pooled plane when the windows lie in the tiles (<see cref="PoolsTiles"/>).</summary>
    static int PooledPositions(ConvGeometry g) => (g.OutputHeight + 1) / 2 * ((g.OutputWidth + 1) / 2);

    /// <summary>
    /// Aᵀ M A for every tile, and at once each of its windows' largest value plus the bias, with its
    /// winner. Vectorised across the group's tiles; each window's result is then stored where it belongs.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void TransformOutputPooled(float* m, int outputs, int count, ConvGeometry g, float* bias, float* pooled, float* winners)
    {
        int tiles = count * TilesAcross(g) * TilesDown(g), outWidth = g.OutputWidth, lanes = Vector<float>.Count;
        var layout = Layout(g, count, outputs);
        long pointStride = PointStride((long)outputs * tiles), pooledPlane = PooledPositions(g);
        Span<Vector<float>> columns = stackalloc Vector<float>[TileSize * PatchSize];
        Span<Vector<float>> y = stackalloc Vector<float>[TileSize * TileSize];
        // Each of a vector of tiles' four windows: their largest values, then their winners.
        float* results = stackalloc float[2 * WindowsPerTile * lanes];
        var missing = new Vector<float>(float.NegativeInfinity);
        for (int o = 0; o < outputs; o++)
        {
            var b = new Vector<float>(bias[o]);
            float* row = m + (long)o * tiles;
            long plane = o * pooledPlane;
            for (int t0 = 0; t0 < tiles; t0 += lanes)
            {
                // A short last step reads the next row (or the gap after M[ξ]) too: its lanes are dropped.
                TransformTiles(row + t0, pointStride, columns, y);
                var first = Vector.Load(layout.Firsts + t0);
                var rows = Vector.Load(layout.Rows + t0);
                var cols = Vector.Load(layout.Columns + t0);
                for (int w = 0; w < WindowsPerTile; w++)
                {
                    int r = 2 * (w >> 1), c = 2 * (w & 1), at = r * TileSize + c;
                    var hasRight = Vector.LessThan(new Vector<float>(c + 1), cols);
                    var hasBelow = Vector.LessThan(new Vector<float>(r + 1), rows);
                    var corner = first + new Vector<float>(r * outWidth + c);
                    // Row-major order, strictly larger to take over: the first largest wins, as in Pooling.
                    var best = y[at];
                    var winner = corner;
                    var candidate = Vector.ConditionalSelect(hasRight, y[at + 1], missing);
                    var larger = Vector.GreaterThan(candidate, best);
                    best = Vector.ConditionalSelect(larger, candidate, best);
                    winner = Vector.ConditionalSelect(larger, corner + Vector<float>.One, winner);
                    candidate = Vector.ConditionalSelect(hasBelow, y[at + TileSize], missing);
                    larger = Vector.GreaterThan(candidate, best);
                    best = Vector.ConditionalSelect(larger, candidate, best);
                    winner = Vector.ConditionalSelect(larger, corner + new Vector<float>(outWidth), winner);
                    candidate = Vector.ConditionalSelect(hasRight & hasBelow, y[at + TileSize + 1], missing);
                    larger = Vector.GreaterThan(candidate, best);
                    best = Vector.ConditionalSelect(larger, candidate, best);
                    winner = Vector.ConditionalSelect(larger, corner + new Vector<float>(outWidth + 1), winner);
                    (best + b).Store(results + w * lanes);
                    winner.Store(results + (WindowsPerTile + w) * lanes);
                }
                for (int t = 0; t < Math.Min(lanes, tiles - t0); t++)
                    for (int w = 0; w < WindowsPerTile; w++)
                    {
                        int at = layout.Windows[w * layout.Padded + t0 + t];
                        if (at < 0) continue;
                        pooled[plane + at] = results[w * lanes + t];
                        if (winners != null) winners[plane + at] = results[(WindowsPerTile + w) * lanes + t];
                    }
            }
        }
    }

    /// <summary>
    /// Where a group's tiles are, per tile (image after image, row-major in each; padded to whole vectors):
    /// its first output's index in its OH x OW plane; how many of its rows and columns are inside the
    /// output (floats, to compare in vectors); and for each of its windows (row-major) the window's index
    /// in the group's pooled [count, outputs, PH·PW] at output channel 0, or -1 past the pooled plane's edge.
    /// </summary>
    readonly struct TileLayout(float* firsts, float* rows, float* columns, int* windows, int padded)
    {
        public readonly float* Firsts = firsts, Rows = rows, Columns = columns;
        /// <summary><see cref="WindowsPerTile"/> runs of <see cref="Padded"/>, one per window.</summary>
        public readonly int* Windows = windows;
        public readonly int Padded = padded;
    }

    /// <summary>The <see cref="TileLayout"/> of a group of <paramref name="count"/> images, in the calling thread's buffer.</summary>
    static TileLayout Layout(ConvGeometry g, int count, int outputs)
    {
        int across = TilesAcross(g), perImage = across * TilesDown(g), tiles = count * perImage, lanes = Vector<float>.Count;
        int padded = (tiles + lanes - 1) / lanes * lanes, pooledWidth = (g.OutputWidth + 1) / 2, pooledHeight = (g.OutputHeight + 1) / 2;
        float* buffer = Convolution.Scratch(ref _tileLayout, (3L + WindowsPerTile) * padded);
        var layout = new TileLayout(buffer, buffer + padded, buffer + 2 * padded, (int*)(buffer + 3 * padded), padded);
        for (int tile = 0; tile < padded; tile++)
        {
            int image = tile / perImage, ty = tile % perImage / across, tx = tile % across;
            bool real = tile < tiles;
            layout.Firsts[tile] = TileSize * (ty * g.OutputWidth + tx);
            layout.Rows[tile] = real ? Math.Min(TileSize, g.OutputHeight - TileSize * ty) : 0;
            layout.Columns[tile] = real ? Math.Min(TileSize, g.OutputWidth - TileSize * tx) : 0;
            for (int w = 0; w < WindowsPerTile; w++)
            {
                int py = 2 * ty + (w >> 1), px = 2 * tx + (w & 1);
                layout.Windows[w * padded + tile] = real && py < pooledHeight && px < pooledWidth
                    ? image * outputs * pooledHeight * pooledWidth + py * pooledWidth + px : -1;
            }
        }
        return layout;
    }

    /// <summary>Aᵀ M A for <c>Vector&lt;float&gt;.Count</c> side-by-side tiles into y (row-major 4x4), with scratch for 24 vectors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void TransformTiles(float* m, long pointStride, Span<Vector<float>> columns, Span<Vector<float>> y)
    {
        // Aᵀ down each column of the 6x6, then along the four rows.
        for (int x = 0; x < PatchSize; x++)
        {
            float* column = m + x * pointStride;
            ToOutputs(Vector.Load(column), Vector.Load(column + PatchSize * pointStride), Vector.Load(column + 2 * PatchSize * pointStride),
                Vector.Load(column + 3 * PatchSize * pointStride), Vector.Load(column + 4 * PatchSize * pointStride), Vector.Load(column + 5 * PatchSize * pointStride),
                out columns[x], out columns[PatchSize + x], out columns[2 * PatchSize + x], out columns[3 * PatchSize + x]);
        }
        for (int k = 0; k < TileSize; k++)
            ToOutputs(columns[k * PatchSize], columns[k * PatchSize + 1], columns[k * PatchSize + 2], columns[k * PatchSize + 3], columns[k * PatchSize + 4], columns[k * PatchSize + 5],
                out y[k * TileSize], out y[k * TileSize + 1], out y[k * TileSize + 2], out y[k * TileSize + 3]);
    }

    /// <summary>
    /// Bᵀ a along one column or row of a 6x6 patch, Bᵀ = [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0],
    /// [0, 4, -4, -1, 1, 0], [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void ToTransformedInput(Vector<float> a0, Vector<float> a1, Vector<float> a2, Vector<float> a3, Vector<float> a4, Vector<float> a5,
        out Vector<float> r0, out Vector<float> r1, out Vector<float> r2, out Vector<float> r3, out Vector<float> r4, out Vector<float> r5)
    {
        var fourMinusTwo = a4 - a2;
        var threeMinusOne = (a3 - a1) * 2f;
        r0 = fourMinusTwo + (a0 - a2) * 4f;
        r1 = (a3 + a4) - (a1 + a2) * 4f;
        r2 = (a4 - a3) + (a1 - a2) * 4f;
        r3 = fourMinusTwo + threeMinusOne;
        r4 = fourMinusTwo - threeMinusOne;
        r5 = (a5 - a3) + (a1 - a3) * 4f;
    }

    /// <summary>B v along one column or row of dV: the adjoint of <see cref="ToTransformedInput"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void FromTransformedInput(Vector<float> v0, Vector<float> v1, Vector<float> v2, Vector<float> v3, Vector<float> v4, Vector<float> v5,
        out Vector<float> e0, out Vector<float> e1, out Vector<float> e2, out Vector<float> e3, out Vector<float> e4, out Vector<float> e5)
    {
        var oneTwo = v1 + v2;
        var threeFour = v3 + v4;
        e0 = v0 * 4f;
        e1 = (v2 - v1 + v5) * 4f + (v4 - v3) * 2f;
        e2 = -(v0 * 5f + oneTwo * 4f + threeFour);
        e3 = (v1 - v2) + (v3 - v4) * 2f - v5 * 5f;
        e4 = v0 + oneTwo + threeFour;
        e5 = v5;
    }

    /// <summary>Aᵀ m along one column or row of a 6x6 M, Aᵀ = [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void ToOutputs(Vector<float> m0, Vector<float> m1, Vector<float> m2, Vector<float> m3, Vector<float> m4, Vector<float> m5,
        out Vector<float> y0, out Vector<float> y1, out Vector<float> y2, out Vector<float> y3)
    {
        var sum12 = m1 + m2;
        var difference12 = m1 - m2;
        var sum34 = m3 + m4;
        var difference34 = m3 - m4;
        y0 = m0 + sum12 + sum34;
        y1 = difference12 + difference34 * 2f;
        y2 = sum12 + sum34 * 4f;
        y3 = difference12 + difference34 * 8f + m5;
    }

    /// <summary>A d along one column or row of dY: the adjoint of <see cref="ToOutputs"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void FromOutputs(Vector<float> d0, Vector<float> d1, Vector<float> d2, Vector<float> d3,
        out Vector<float> m0, out Vector<float> m1, out Vector<float> m2, out Vector<float> m3, out Vector<float> m4, out Vector<float> m5)
    {
        var even = d0 + d2;
        var odd = d1 + d3;
        var evenWeighted = d0 + d2 * 4f;
        var oddWeighted = (d1 + d3 * 4f) * 2f;
        m0 = d0;
        m1 = even + odd;
        m2 = even - odd;
        m3 = evenWeighted + oddWeighted;
        m4 = evenWeighted - oddWeighted;
        m5 = d3;
    }
}
