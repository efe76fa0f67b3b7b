using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

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
    [ThreadStatic] static float[]? _weightGradientRows;
    [ThreadStatic] static float[]? _channelsLast;
    [ThreadStatic] static float[]? _tileLayout;
    [ThreadStatic] static float[]? _transformedInput;
    [ThreadStatic] static float[]? _transformedOutput;

    /// <summary>
    /// Whether a convolution of this geometry can run as Winograd F(4x4, 3x3) and gains from it: outputs
    /// smaller than 3x3 would leave most of a tile's products unused, where im2col needs no more multiplies.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool Suits(ConvGeometry g) =>
        g is { KernelHeight: 3, KernelWidth: 3, Stride: 1, OutputHeight: >= 3, OutputWidth: >= 3 }
        && g.Channels >= MinimumChannels && g.Channels % Vector<float>.Count == 0;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static int TilesAcross(ConvGeometry g) => (g.OutputWidth + TileSize - 1) / TileSize;
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static int TilesDown(ConvGeometry g) => (g.OutputHeight + TileSize - 1) / TileSize;

    /// <summary>
    /// Images per group of products for this geometry: enough for <see cref="MinimumTiles"/>, but no
    /// more than half the batch, so that two threads have a group each (hello-dl's third layer has one tile an image).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int ImagesPerProduct(ConvGeometry g)
    {
        int tiles = TilesAcross(g) * TilesDown(g);
        return Math.Clamp((MinimumTiles + tiles - 1) / tiles, 1, Math.Max(1, (g.Batch + 1) / 2));
    }

    /// <summary>
    /// Images per group of the forward's products M = U V, which are as wide as the group's tiles: of
    /// <see cref="ImagesPerProduct"/> images or down to half as many, the count whose tiles fill the
    /// register tiles' panels best, the larger on a tie (hello-dl's second layer: 7 images, 63 tiles in
    /// two 32-wide panels, not 8 in three). The backward's products run along the channels instead.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int ImagesPerForwardProduct(ConvGeometry g)
    {
        int perImage = TilesAcross(g) * TilesDown(g), most = ImagesPerProduct(g), panel = Gemm.PanelWidth;
        int best = most;
        double bestFill = 0;
        for (int images = most; images >= (most + 1) / 2; images--)
        {
            int tiles = images * perImage;
            double fill = (double)tiles / ((tiles + panel - 1) / panel * panel);
            if (fill > bestFill + 0.01) (best, bestFill) = (images, fill);
        }
        return best;
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
        float* packed = Convolution.Scratch(ref _packedFilters, (long)Points * length);
        // On the threads: packed serially, hello-dl's third layer's 36 x 128 x 64 kept the other thread waiting for
        // some 2% of a CNN step on Zen 4.
        fixed (float* source = transformed)
        {
            float* from = source;
            Parallelism.For(Points, (long)Points * length * PackCost, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (point) =>
                Gemm.PackRight(new ReadOnlySpan<float>(from + (long)point * matrix, matrix), false, outputs, channels,
                    new Span<float>(packed + (long)point * length, length)));
        }
        return new ReadOnlySpan<float>(packed, Points * length);
    }

    static int PackedFilterLength(int outputs, int channels) => Gemm.PackedRightLength(outputs, channels);

    /// <summary>
    /// Work per packed float as <see cref="Parallelism.For"/> counts it (in multiply-adds): a guess,
    /// which splits the third layer's 36 x 128 x 64 filters between the threads (measured faster) and
    /// leaves the second layer's 36 x 64 x 32 on one (not measured split).
    /// </summary>
    const int PackCost = 4;

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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static long PointStride(long matrix) => (matrix + 1023) / 1024 * 1024 + 16;

    /// <summary>
    /// V[ξ] for the images, [36, tiles, channels] (channels along a row: the input transform runs
    /// across them; <see cref="PointStride"/> apart), in the calling thread's buffer.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static float* TransformInputs(float* images, int count, ConvGeometry g)
    {
        int channels = g.Channels, tilesPerImage = TilesAcross(g) * TilesDown(g), tiles = count * tilesPerImage;
        long stride = PointStride((long)tiles * channels);
        float* v = Convolution.Scratch(ref _transformedInput, Points * stride);
        long imageSize = (long)channels * g.Height * g.Width;
        for (int i = 0; i < count; i++)
        {
            // The copy into channels-last reads a row of eight channels' planes at a time, which the
            // hardware's prefetchers did not follow: the next image is asked for while this one is
            // copied. In a CNN training step (Zen 5, perf, shares of all samples) the copy fell from
            // 9-11% to 4-5%; the pooled planes' prefetches below took the gradients' gathering from
            // 10-12% to 6% and the pooled output from 7.3-7.7% to 5.3%; all the asking cost about 1%.
            if (i + 1 < count) CacheHints.Prefetch(images + (i + 1) * imageSize, imageSize * sizeof(float));
            TransformInput(images + i * imageSize, g, v + (long)i * tilesPerImage * channels, stride);
        }
        return v;
    }

    /// <summary>
    /// M[ξ] (or its gradient), [36, outputs, tiles] (<see cref="PointStride"/> apart), in the calling
    /// thread's buffer; a last vector of tiles that runs past a matrix's end stays in the gap after it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static float* TransformedOutputs(int outputs, int tiles) =>
        Convolution.Scratch(ref _transformedOutput, Points * PointStride((long)outputs * tiles));

    /// <summary>
    /// The gradients of <see cref="ConvolvePooled"/> for <paramref name="count"/> images from the
    /// pooled gradient dPooled [count, outputs, PH·PW], the recorded winners and, when not null, the
    /// derivatives of a GELU after the pooling: dU [36, outputs, channels] is added to, or written
    /// when <paramref name="overwriteFilterGradient"/> (a sum over images, transformed into dWeight later
    /// by <see cref="AddFilterGradient"/>), dBias [outputs] is added to, and dx [count, C, H, W] is
    /// added to unless null. A window's gradient reaches only its winner,
    /// so each tile's output gradient has at most four values, one in each of its windows. These
    /// are the exact gradients of the Winograd forward: dU = Σ dM Vᵀ, dV = Uᵀ dM, dx = B dV Bᵀ.
    /// <paramref name="packedFilters"/> is U as <see cref="TransformAndPackFilters"/> gives it (needed only for dx).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BackwardPooled(float* images, int count, ConvGeometry g, int outputs, float* packedFilters, float* dPooled, float* winners, float* slopes,
        float* filterGradient, bool overwriteFilterGradient, float* biasGradient, float* inputGradient)
    {
        int channels = g.Channels, tilesPerImage = TilesAcross(g) * TilesDown(g), tiles = count * tilesPerImage, matrix = outputs * channels;
        long inputStride = PointStride((long)tiles * channels), outputStride = PointStride((long)outputs * tiles);
        float* v = TransformInputs(images, count, g);
        float* dm = TransformedOutputs(outputs, tiles);
        OutputGradientFromPooled(dPooled, winners, slopes, count, outputs, g, dm, biasGradient);
        for (int point = 0; point < Points; point++)
            Gemm.Multiply(new ReadOnlySpan<float>(dm + point * outputStride, outputs * tiles), false,
                new ReadOnlySpan<float>(v + point * inputStride, tiles * channels), false,
                new Span<float>(filterGradient + (long)point * matrix, matrix), outputs, channels, tiles, accumulate: !overwriteFilterGradient);
        if (inputGradient == null) return;
        // dV[ξ] = dM[ξ]ᵀ U[ξ], [tiles, channels], into V's buffer (V is no longer needed).
        float* dv = v;
        int packedLength = PackedFilterLength(outputs, channels);
        for (int point = 0; point < Points; point++)
            Gemm.MultiplyPackedRight(new ReadOnlySpan<float>(dm + point * outputStride, outputs * tiles), true,
                new ReadOnlySpan<float>(packedFilters + (long)point * packedLength, packedLength),
                new Span<float>(dv + point * inputStride, tiles * channels), tiles, channels, outputs);
        long imageSize = (long)channels * g.Height * g.Width;
        for (int i = 0; i < count; i++)
        {
            if (i + 1 < count) CacheHints.Prefetch(inputGradient + (i + 1) * imageSize, imageSize * sizeof(float));
            AddInputGradient(dv + (long)i * tilesPerImage * channels, inputStride, g, inputGradient + i * imageSize);
        }
    }

    /// <summary>
    /// dWeight [outputs·channels, 9] += Gᵀ dU G for every filter: dWeightᵀ = (G ⊗ G)ᵀ dU as one product
    /// [9, outputs·channels], then added transposed. The product the other way round is 9 columns wide,
    /// which fills 9 of a register tile's 32: 0.38 ms against 0.16 this way at hello-dl's third layer, one thread.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AddFilterGradient(ReadOnlySpan<float> filterGradient, Span<float> weightGradient, int outputs, int channels)
    {
        int filters = outputs * channels;
        if (filterGradient.Length < Points * filters || weightGradient.Length < 9 * filters)
            throw new ArgumentException($"Buffers too small for {outputs}x{channels} filters.");
        float* rows = Convolution.Scratch(ref _weightGradientRows, 9L * filters);
        Gemm.Multiply(FilterTransform, true, filterGradient, false, new Span<float>(rows, 9 * filters), 9, filters, Points);
        fixed (float* weights = weightGradient)
            for (int f = 0; f < filters; f++)
            {
                float* weight = weights + f * 9;
                for (int j = 0; j < 9; j++) weight[j] += rows[(long)j * filters + f];
            }
    }

    /// <summary>Floats of dU for one layer: 36 [outputs, channels] matrices.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
        bool gathers = Gemm.Path != SimdPath.Portable && Vector<float>.Count == Vector256<float>.Count;
        float* scratch = stackalloc float[2 * lanes];
        var width = new Vector<float>(outWidth);
        var secondRow = new Vector<float>(2 * outWidth);
        var two = new Vector<float>(2);
        for (int o = 0; o < outputs; o++)
        {
            // The windows' gradients and winners are read image by image, a plane of each.
            if (o + 1 < outputs) PrefetchChannel(o + 1, count, outputs, pooledPlane, dPooled, winners, slopes);
            var sum = Vector<float>.Zero;
            float* target = dm + (long)o * tiles;
            int plane = (int)(o * pooledPlane);
            for (int t0 = 0; t0 < tiles; t0 += lanes)
            {
                int* at = layout.Windows + t0;
                int padded = layout.Padded;
                var first = Vector.Load(layout.Firsts + t0);
                var g0 = GatherWindow(dPooled, slopes, winners, plane, at, gathers, scratch, out var w0);
                var g1 = GatherWindow(dPooled, slopes, winners, plane, at + padded, gathers, scratch, out var w1);
                var g2 = GatherWindow(dPooled, slopes, winners, plane, at + 2 * padded, gathers, scratch, out var w2);
                var g3 = GatherWindow(dPooled, slopes, winners, plane, at + 3 * padded, gathers, scratch, out var w3);
                sum += g0 + g1 + g2 + g3;
                // dY, row-major 4x4: each window's gradient at its winner, the winner given relative to the window's first output.
                PlaceInWindow(g0, w0 - first, width, out var d00, out var d01, out var d10, out var d11);
                PlaceInWindow(g1, w1 - first - two, width, out var d02, out var d03, out var d12, out var d13);
                PlaceInWindow(g2, w2 - first - secondRow, width, out var d20, out var d21, out var d30, out var d31);
                PlaceInWindow(g3, w3 - first - secondRow - two, width, out var d22, out var d23, out var d32, out var d33);
                // A along each row of dY, then down each of the six columns; whole vectors: past the last
                // tile they land on the next channel's tiles (written later) or in the gap after dM[ξ].
                FromOutputs(d00, d01, d02, d03, out var a0, out var a1, out var a2, out var a3, out var a4, out var a5);
                FromOutputs(d10, d11, d12, d13, out var b0, out var b1, out var b2, out var b3, out var b4, out var b5);
                FromOutputs(d20, d21, d22, d23, out var c0, out var c1, out var c2, out var c3, out var c4, out var c5);
                FromOutputs(d30, d31, d32, d33, out var e0, out var e1, out var e2, out var e3, out var e4, out var e5);
                float* tile = target + t0;
                StoreGradientColumn(tile, 0, pointStride, a0, b0, c0, e0);
                StoreGradientColumn(tile, 1, pointStride, a1, b1, c1, e1);
                StoreGradientColumn(tile, 2, pointStride, a2, b2, c2, e2);
                StoreGradientColumn(tile, 3, pointStride, a3, b3, c3, e3);
                StoreGradientColumn(tile, 4, pointStride, a4, b4, c4, e4);
                StoreGradientColumn(tile, 5, pointStride, a5, b5, c5, e5);
            }
            biasGradient[o] += Vector.Sum(sum);
        }
    }

    /// <summary>
    /// Asks for <paramref name="channel"/>'s plane of <paramref name="first"/> and of the others where
    /// given, in each of <paramref name="count"/> images of <paramref name="channels"/> pooled planes,
    /// image by image as the steps read or write them; the hardware's prefetchers did not follow that
    /// (see TransformInputs), so the steps ask for the next channel while they work on the current one.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void PrefetchChannel(int channel, int count, int channels, long plane, float* first, float* second, float* third)
    {
        for (int i = 0; i < count; i++)
        {
            long at = ((long)i * channels + channel) * plane;
            CacheHints.Prefetch(first + at, plane * sizeof(float));
            if (second != null) CacheHints.Prefetch(second + at, plane * sizeof(float));
            if (third != null) CacheHints.Prefetch(third + at, plane * sizeof(float));
        }
    }

    /// <summary>
    /// One window of a vector of tiles: its gradient (times GELU's slope when given) and its winner,
    /// both 0 where the window index is -1 (past the pooled plane's edge or the last tile). AVX2's
    /// masked gathers where <paramref name="gathers"/>. Written float by float into a buffer and read
    /// back as vectors, each vector read waits for its eight writes (no store forwarding): the
    /// gradients' transform into dM took 5.9% of a CNN training step's perf samples that way on Zen 5,
    /// 4.0-4.3% with the gathers. The portable path still goes through <paramref name="scratch"/> (two vectors).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector<float> GatherWindow(float* dPooled, float* slopes, float* winners, int plane, int* windows, bool gathers, float* scratch, out Vector<float> winner)
    {
        if (gathers)
        {
            var at = Avx.LoadVector256(windows);
            var inside = Avx2.CompareGreaterThan(at, Vector256.Create(-1)).AsSingle();
            var index = Avx2.Add(at, Vector256.Create(plane));
            var gradient = Avx2.GatherMaskVector256(Vector256<float>.Zero, dPooled, index, inside, 4);
            if (slopes != null) gradient = Avx.Multiply(gradient, Avx2.GatherMaskVector256(Vector256<float>.Zero, slopes, index, inside, 4));
            winner = Avx2.GatherMaskVector256(Vector256<float>.Zero, winners, index, inside, 4).AsVector();
            return gradient.AsVector();
        }
        int lanes = Vector<float>.Count;
        for (int t = 0; t < lanes; t++)
        {
            int at = windows[t];
            scratch[t] = at < 0 ? 0 : dPooled[plane + at] * (slopes == null ? 1 : slopes[plane + at]);
            scratch[lanes + t] = at < 0 ? 0 : winners[plane + at];
        }
        winner = Vector.Load(scratch + lanes);
        return Vector.Load(scratch);
    }

    /// <summary>
    /// A 2x2 window's part of dY: its gradient at its winner, 0 at the other three. <paramref name="offset"/>
    /// is the winner's index less the window's first output's (0, 1, OW or OW + 1).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void PlaceInWindow(Vector<float> gradient, Vector<float> offset, Vector<float> width,
        out Vector<float> topLeft, out Vector<float> topRight, out Vector<float> bottomLeft, out Vector<float> bottomRight)
    {
        var lower = Vector.GreaterThanOrEqual(offset, width);
        var right = Vector.Equals(offset - Vector.ConditionalSelect(lower, width, Vector<float>.Zero), Vector<float>.One);
        var top = Vector.ConditionalSelect(lower, Vector<float>.Zero, gradient);
        var bottom = Vector.ConditionalSelect(lower, gradient, Vector<float>.Zero);
        topLeft = Vector.ConditionalSelect(right, Vector<float>.Zero, top);
        topRight = Vector.ConditionalSelect(right, top, Vector<float>.Zero);
        bottomLeft = Vector.ConditionalSelect(right, Vector<float>.Zero, bottom);
        bottomRight = Vector.ConditionalSelect(right, bottom, Vector<float>.Zero);
    }

    /// <summary>Column x of dM = A dY Aᵀ from column x of (dY Aᵀ), stored down the six rows of the 6x6.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreGradientColumn(float* tile, int x, long pointStride, Vector<float> d0, Vector<float> d1, Vector<float> d2, Vector<float> d3)
    {
        FromOutputs(d0, d1, d2, d3, out var m0, out var m1, out var m2, out var m3, out var m4, out var m5);
        float* column = tile + x * pointStride;
        m0.Store(column);
        m1.Store(column + PatchSize * pointStride);
        m2.Store(column + 2 * PatchSize * pointStride);
        m3.Store(column + 3 * PatchSize * pointStride);
        m4.Store(column + 4 * PatchSize * pointStride);
        m5.Store(column + 5 * PatchSize * pointStride);
    }

    /// <summary>
    /// dx += B dV Bᵀ for every tile of one image, the adjoint of <see cref="TransformInput"/>: each
    /// tile's 6x6 patch gradient is added up channels-last (patches overlap by two), then added to
    /// dx [C, H, W] without the padding border.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void AddInputGradient(float* dv, long pointStride, ConvGeometry g, float* dx)
    {
        int across = TilesAcross(g), down = TilesDown(g), channels = g.Channels, lanes = Vector<float>.Count;
        float* laid = ChannelsLast(g, out int paddedWidth, out int top, out int bottom, out int left, out int right);
        long rowStride = (long)paddedWidth * channels;
        for (int ty = 0; ty < down; ty++)
            for (int tx = 0; tx < across; tx++)
            {
                float* patch = laid + TileSize * ty * rowStride + TileSize * tx * channels;
                float* t = dv + (long)(ty * across + tx) * channels;
                for (int c = 0; c < channels; c += lanes)
                {
                    // The forward's two steps undone in reverse: B along each row of dV, then down each column.
                    float* rows = t + c;
                    GradientRow(rows, 0, pointStride, out var a0, out var a1, out var a2, out var a3, out var a4, out var a5);
                    GradientRow(rows, 1, pointStride, out var b0, out var b1, out var b2, out var b3, out var b4, out var b5);
                    GradientRow(rows, 2, pointStride, out var c0, out var c1, out var c2, out var c3, out var c4, out var c5);
                    GradientRow(rows, 3, pointStride, out var d0, out var d1, out var d2, out var d3, out var d4, out var d5);
                    GradientRow(rows, 4, pointStride, out var e0, out var e1, out var e2, out var e3, out var e4, out var e5);
                    GradientRow(rows, 5, pointStride, out var f0, out var f1, out var f2, out var f3, out var f4, out var f5);
                    float* columns = patch + c;
                    AddPatchColumn(columns, rowStride, a0, b0, c0, d0, e0, f0);
                    AddPatchColumn(columns + channels, rowStride, a1, b1, c1, d1, e1, f1);
                    AddPatchColumn(columns + 2 * channels, rowStride, a2, b2, c2, d2, e2, f2);
                    AddPatchColumn(columns + 3 * channels, rowStride, a3, b3, c3, d3, e3, f3);
                    AddPatchColumn(columns + 4 * channels, rowStride, a4, b4, c4, d4, e4, f4);
                    AddPatchColumn(columns + 5 * channels, rowStride, a5, b5, c5, d5, e5, f5);
                }
            }
        LayChannelsLast(dx, g, laid, rowStride, top, bottom, left, right, add: true);
    }

    /// <summary>
    /// Copies rows [top, bottom) x columns [left, right) of the channels-last buffer's image part from
    /// a [C, H, W] image, or with <paramref name="add"/> adds them back onto it (an input gradient).
    /// Eight channels by eight columns at a time, transposed in registers: one float at a time, the
    /// copy into the buffer alone took about 7% of a CNN training step on Zen 4 (some 385 of 5,500 us).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void LayChannelsLast(float* image, ConvGeometry g, float* laid, long rowStride, int top, int bottom, int left, int right, bool add)
    {
        int channels = g.Channels, width = g.Width, pad = g.Padding;
        long plane = (long)g.Height * width;
        // Register transposes on the AVX paths; the portable path (which the tests also run) copies float by float.
        if (Gemm.Path == SimdPath.Portable || channels % 8 != 0)
        {
            for (int c = 0; c < channels; c++)
                for (int y = top; y < bottom; y++)
                {
                    float* planar = image + c * plane + (y - pad) * width - pad, laidRow = laid + y * rowStride + c;
                    for (int x = left; x < right; x++)
                        if (add) planar[x] += laidRow[x * channels];
                        else laidRow[x * channels] = planar[x];
                }
            return;
        }
        // Chosen by the GEMM path, as everything else the tests run path by path.
        bool maskedStores = Gemm.Path == SimdPath.Avx512 && Avx512F.VL.IsSupported;
        for (int y = top; y < bottom; y++)
            for (int x = left; x < right; x += 8)
            {
                // The row's last block may be short: masked loads (and no stores past it) keep to its
                // columns, and the laid-out buffer's padding past them stays 0.
                int columns = Math.Min(8, right - x);
                var mask = Vector256.LessThan(Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7), Vector256.Create(columns)).AsSingle();
                float* planar = image + (y - pad) * width + (x - pad), laidAt = laid + y * rowStride + (long)x * channels;
                for (int c = 0; c < channels; c += 8)
                    if (add) AddBlock(laidAt + c, channels, columns, planar + c * plane, plane, mask, maskedStores);
                    else LayBlock(planar + c * plane, plane, mask, columns, laidAt + c, channels);
            }
    }

    /// <summary>Eight channels' rows of <paramref name="columns"/> floats (plane apart), written as that many runs of eight channels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void LayBlock(float* planar, long plane, Vector256<float> mask, int columns, float* laid, int channels)
    {
        var r0 = Avx.MaskLoad(planar, mask); var r1 = Avx.MaskLoad(planar + plane, mask);
        var r2 = Avx.MaskLoad(planar + 2 * plane, mask); var r3 = Avx.MaskLoad(planar + 3 * plane, mask);
        var r4 = Avx.MaskLoad(planar + 4 * plane, mask); var r5 = Avx.MaskLoad(planar + 5 * plane, mask);
        var r6 = Avx.MaskLoad(planar + 6 * plane, mask); var r7 = Avx.MaskLoad(planar + 7 * plane, mask);
        Gemm.Transpose8x8(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7);
        Avx.Store(laid, r0);
        if (columns > 1) Avx.Store(laid + channels, r1);
        if (columns > 2) Avx.Store(laid + 2 * channels, r2);
        if (columns > 3) Avx.Store(laid + 3 * channels, r3);
        if (columns > 4) Avx.Store(laid + 4 * channels, r4);
        if (columns > 5) Avx.Store(laid + 5 * channels, r5);
        if (columns > 6) Avx.Store(laid + 6 * channels, r6);
        if (columns > 7) Avx.Store(laid + 7 * channels, r7);
    }

    /// <summary>
    /// The inverse of <see cref="LayBlock"/>, added onto the planar rows. A short block takes AVX-512's
    /// masked stores (<paramref name="maskedStores"/>), or goes float by float: AVX's (vmaskmovps) are
    /// slow enough on AMD (Zen 4) that the second layer's backward took longer with them than with
    /// the scalar copy.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void AddBlock(float* laid, int channels, int columns, float* planar, long plane, Vector256<float> mask, bool maskedStores)
    {
        if (columns < 8 && !maskedStores)
        {
            for (int k = 0; k < 8; k++)
                for (int t = 0; t < columns; t++) planar[k * plane + t] += laid[t * channels + k];
            return;
        }
        var r0 = Avx.LoadVector256(laid);
        var r1 = columns > 1 ? Avx.LoadVector256(laid + channels) : Vector256<float>.Zero;
        var r2 = columns > 2 ? Avx.LoadVector256(laid + 2 * channels) : Vector256<float>.Zero;
        var r3 = columns > 3 ? Avx.LoadVector256(laid + 3 * channels) : Vector256<float>.Zero;
        var r4 = columns > 4 ? Avx.LoadVector256(laid + 4 * channels) : Vector256<float>.Zero;
        var r5 = columns > 5 ? Avx.LoadVector256(laid + 5 * channels) : Vector256<float>.Zero;
        var r6 = columns > 6 ? Avx.LoadVector256(laid + 6 * channels) : Vector256<float>.Zero;
        var r7 = columns > 7 ? Avx.LoadVector256(laid + 7 * channels) : Vector256<float>.Zero;
        Gemm.Transpose8x8(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7);
        AddRow(planar, r0, columns, mask);
        AddRow(planar + plane, r1, columns, mask);
        AddRow(planar + 2 * plane, r2, columns, mask);
        AddRow(planar + 3 * plane, r3, columns, mask);
        AddRow(planar + 4 * plane, r4, columns, mask);
        AddRow(planar + 5 * plane, r5, columns, mask);
        AddRow(planar + 6 * plane, r6, columns, mask);
        AddRow(planar + 7 * plane, r7, columns, mask);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void AddRow(float* target, Vector256<float> values, int columns, Vector256<float> mask)
    {
        if (columns == 8) Avx.Store(target, Avx.Add(Avx.LoadVector256(target), values));
        else Avx512F.VL.MaskStore(target, mask, Avx.Add(Avx512F.VL.MaskLoad(target, mask, Vector256<float>.Zero), values));
    }

    /// <summary>
    /// A cleared channels-last image [padded height, padded width, C] covering every tile's 6x6
    /// patch, in the calling thread's buffer: the padding and where the tiles overhang the image
    /// stay 0. Rows [top, bottom) and columns [left, right) of it are the image's own.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
        int across = TilesAcross(g), down = TilesDown(g), channels = g.Channels, lanes = Vector<float>.Count;
        float* laid = ChannelsLast(g, out int paddedWidth, out int top, out int bottom, out int left, out int right);
        long rowStride = (long)paddedWidth * channels;
        LayChannelsLast(image, g, laid, rowStride, top, bottom, left, right, add: false);
        for (int ty = 0; ty < down; ty++)
            for (int tx = 0; tx < across; tx++)
            {
                float* patch = laid + TileSize * ty * rowStride + TileSize * tx * channels;
                float* t = v + (long)(ty * across + tx) * channels;
                for (int c = 0; c < channels; c += lanes)
                {
                    // Bᵀ down each column of the patch, then along each row.
                    float* columns = patch + c;
                    InputColumn(columns, rowStride, out var a0, out var b0, out var c0, out var d0, out var e0, out var f0);
                    InputColumn(columns + channels, rowStride, out var a1, out var b1, out var c1, out var d1, out var e1, out var f1);
                    InputColumn(columns + 2 * channels, rowStride, out var a2, out var b2, out var c2, out var d2, out var e2, out var f2);
                    InputColumn(columns + 3 * channels, rowStride, out var a3, out var b3, out var c3, out var d3, out var e3, out var f3);
                    InputColumn(columns + 4 * channels, rowStride, out var a4, out var b4, out var c4, out var d4, out var e4, out var f4);
                    InputColumn(columns + 5 * channels, rowStride, out var a5, out var b5, out var c5, out var d5, out var e5, out var f5);
                    float* rows = t + c;
                    StoreInputRow(rows, 0, pointStride, a0, a1, a2, a3, a4, a5);
                    StoreInputRow(rows, 1, pointStride, b0, b1, b2, b3, b4, b5);
                    StoreInputRow(rows, 2, pointStride, c0, c1, c2, c3, c4, c5);
                    StoreInputRow(rows, 3, pointStride, d0, d1, d2, d3, d4, d5);
                    StoreInputRow(rows, 4, pointStride, e0, e1, e2, e3, e4, e5);
                    StoreInputRow(rows, 5, pointStride, f0, f1, f2, f3, f4, f5);
                }
            }
    }

    /// <summary>Bᵀ down one column of a channels-last 6x6 patch: that column of the six rows of Bᵀ d.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void InputColumn(float* column, long rowStride,
        out Vector<float> r0, out Vector<float> r1, out Vector<float> r2, out Vector<float> r3, out Vector<float> r4, out Vector<float> r5) =>
        ToTransformedInput(Vector.Load(column), Vector.Load(column + rowStride), Vector.Load(column + 2 * rowStride),
            Vector.Load(column + 3 * rowStride), Vector.Load(column + 4 * rowStride), Vector.Load(column + 5 * rowStride),
            out r0, out r1, out r2, out r3, out r4, out r5);

    /// <summary>Row k of V = (Bᵀ d) B from row k of Bᵀ d, stored to V[6k .. 6k + 5].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreInputRow(float* tile, int k, long pointStride, Vector<float> a0, Vector<float> a1, Vector<float> a2, Vector<float> a3, Vector<float> a4, Vector<float> a5)
    {
        ToTransformedInput(a0, a1, a2, a3, a4, a5, out var r0, out var r1, out var r2, out var r3, out var r4, out var r5);
        float* row = tile + k * PatchSize * pointStride;
        r0.Store(row);
        r1.Store(row + pointStride);
        r2.Store(row + 2 * pointStride);
        r3.Store(row + 3 * pointStride);
        r4.Store(row + 4 * pointStride);
        r5.Store(row + 5 * pointStride);
    }

    /// <summary>B along row k of dV (dV[6k .. 6k + 5]): row k of Bᵀ's adjoint step, dV B.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void GradientRow(float* tile, int k, long pointStride,
        out Vector<float> e0, out Vector<float> e1, out Vector<float> e2, out Vector<float> e3, out Vector<float> e4, out Vector<float> e5)
    {
        float* row = tile + k * PatchSize * pointStride;
        FromTransformedInput(Vector.Load(row), Vector.Load(row + pointStride), Vector.Load(row + 2 * pointStride),
            Vector.Load(row + 3 * pointStride), Vector.Load(row + 4 * pointStride), Vector.Load(row + 5 * pointStride),
            out e0, out e1, out e2, out e3, out e4, out e5);
    }

    /// <summary>B down one column of dV B, added to that column of a channels-last 6x6 patch gradient.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void AddPatchColumn(float* column, long rowStride, Vector<float> v0, Vector<float> v1, Vector<float> v2, Vector<float> v3, Vector<float> v4, Vector<float> v5)
    {
        FromTransformedInput(v0, v1, v2, v3, v4, v5, out var d0, out var d1, out var d2, out var d3, out var d4, out var d5);
        (Vector.Load(column) + d0).Store(column);
        (Vector.Load(column + rowStride) + d1).Store(column + rowStride);
        (Vector.Load(column + 2 * rowStride) + d2).Store(column + 2 * rowStride);
        (Vector.Load(column + 3 * rowStride) + d3).Store(column + 3 * rowStride);
        (Vector.Load(column + 4 * rowStride) + d4).Store(column + 4 * rowStride);
        (Vector.Load(column + 5 * rowStride) + d5).Store(column + 5 * rowStride);
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
        float* values = stackalloc float[TileSize * TileSize * lanes];
        for (int o = 0; o < outputs; o++)
        {
            float* row = m + (long)o * tiles;
            float* target = product + (long)o * width;
            for (int t0 = 0; t0 < tiles; t0 += lanes)
            {
                // A short last step reads the next row (or the gap after M[ξ]) too: its lanes are dropped.
                TransformTiles(row + t0, pointStride, out var y00, out var y01, out var y02, out var y03, out var y10, out var y11, out var y12, out var y13,
                    out var y20, out var y21, out var y22, out var y23, out var y30, out var y31, out var y32, out var y33);
                y00.Store(values); y01.Store(values + lanes); y02.Store(values + 2 * lanes); y03.Store(values + 3 * lanes);
                y10.Store(values + 4 * lanes); y11.Store(values + 5 * lanes); y12.Store(values + 6 * lanes); y13.Store(values + 7 * lanes);
                y20.Store(values + 8 * lanes); y21.Store(values + 9 * lanes); y22.Store(values + 10 * lanes); y23.Store(values + 11 * lanes);
                y30.Store(values + 12 * lanes); y31.Store(values + 13 * lanes); y32.Store(values + 14 * lanes); y33.Store(values + 15 * lanes);
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
        // Each of a vector of tiles' four windows: their largest values, then their winners.
        float* results = stackalloc float[2 * WindowsPerTile * lanes];
        var width = new Vector<float>(outWidth);
        var secondRow = new Vector<float>(2 * outWidth);
        var two = new Vector<float>(2);
        var three = new Vector<float>(3);
        for (int o = 0; o < outputs; o++)
        {
            // The windows' maxima and winners are written image by image, a plane of each.
            if (o + 1 < outputs) PrefetchChannel(o + 1, count, outputs, pooledPlane, pooled, winners, null);
            var b = new Vector<float>(bias[o]);
            float* row = m + (long)o * tiles;
            long plane = o * pooledPlane;
            for (int t0 = 0; t0 < tiles; t0 += lanes)
            {
                // A short last step reads the next row (or the gap after M[ξ]) too: its lanes are dropped.
                TransformTiles(row + t0, pointStride, out var y00, out var y01, out var y02, out var y03, out var y10, out var y11, out var y12, out var y13,
                    out var y20, out var y21, out var y22, out var y23, out var y30, out var y31, out var y32, out var y33);
                var first = Vector.Load(layout.Firsts + t0);
                var rows = Vector.Load(layout.Rows + t0);
                var columns = Vector.Load(layout.Columns + t0);
                // Whether the tile's second and fourth columns (rows) are inside the output.
                var secondRight = Vector.LessThan(Vector<float>.One, columns);
                var fourthRight = Vector.LessThan(three, columns);
                var secondDown = Vector.LessThan(Vector<float>.One, rows);
                var fourthDown = Vector.LessThan(three, rows);
                PoolWindow(y00, y01, y10, y11, first, secondRight, secondDown, width, b, results, results + 4 * lanes);
                PoolWindow(y02, y03, y12, y13, first + two, fourthRight, secondDown, width, b, results + lanes, results + 5 * lanes);
                PoolWindow(y20, y21, y30, y31, first + secondRow, secondRight, fourthDown, width, b, results + 2 * lanes, results + 6 * lanes);
                PoolWindow(y22, y23, y32, y33, first + secondRow + two, fourthRight, fourthDown, width, b, results + 3 * lanes, results + 7 * lanes);
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
    /// A 2x2 window's largest value plus the bias, and its winner, stored at <paramref name="best"/> and
    /// <paramref name="winner"/>: row-major order, strictly larger to take over, so the first largest
    /// wins, as in <see cref="Pooling"/>. <paramref name="corner"/> is the window's first output's index.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void PoolWindow(Vector<float> topLeft, Vector<float> topRight, Vector<float> bottomLeft, Vector<float> bottomRight, Vector<float> corner,
        Vector<int> hasRight, Vector<int> hasBelow, Vector<float> width, Vector<float> bias, float* best, float* winner)
    {
        var missing = new Vector<float>(float.NegativeInfinity);
        var largest = topLeft;
        var place = corner;
        var candidate = Vector.ConditionalSelect(hasRight, topRight, missing);
        var larger = Vector.GreaterThan(candidate, largest);
        largest = Vector.ConditionalSelect(larger, candidate, largest);
        place = Vector.ConditionalSelect(larger, corner + Vector<float>.One, place);
        candidate = Vector.ConditionalSelect(hasBelow, bottomLeft, missing);
        larger = Vector.GreaterThan(candidate, largest);
        largest = Vector.ConditionalSelect(larger, candidate, largest);
        place = Vector.ConditionalSelect(larger, corner + width, place);
        candidate = Vector.ConditionalSelect(hasRight & hasBelow, bottomRight, missing);
        larger = Vector.GreaterThan(candidate, largest);
        largest = Vector.ConditionalSelect(larger, candidate, largest);
        place = Vector.ConditionalSelect(larger, corner + width + Vector<float>.One, place);
        (largest + bias).Store(best);
        place.Store(winner);
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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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

    /// <summary>Y = Aᵀ M A for <c>Vector&lt;float&gt;.Count</c> side-by-side tiles, row-major 4x4.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void TransformTiles(float* m, long pointStride,
        out Vector<float> y00, out Vector<float> y01, out Vector<float> y02, out Vector<float> y03,
        out Vector<float> y10, out Vector<float> y11, out Vector<float> y12, out Vector<float> y13,
        out Vector<float> y20, out Vector<float> y21, out Vector<float> y22, out Vector<float> y23,
        out Vector<float> y30, out Vector<float> y31, out Vector<float> y32, out Vector<float> y33)
    {
        // Aᵀ down each column of the 6x6, then along the four rows.
        OutputColumn(m, 0, pointStride, out var a0, out var b0, out var c0, out var e0);
        OutputColumn(m, 1, pointStride, out var a1, out var b1, out var c1, out var e1);
        OutputColumn(m, 2, pointStride, out var a2, out var b2, out var c2, out var e2);
        OutputColumn(m, 3, pointStride, out var a3, out var b3, out var c3, out var e3);
        OutputColumn(m, 4, pointStride, out var a4, out var b4, out var c4, out var e4);
        OutputColumn(m, 5, pointStride, out var a5, out var b5, out var c5, out var e5);
        ToOutputs(a0, a1, a2, a3, a4, a5, out y00, out y01, out y02, out y03);
        ToOutputs(b0, b1, b2, b3, b4, b5, out y10, out y11, out y12, out y13);
        ToOutputs(c0, c1, c2, c3, c4, c5, out y20, out y21, out y22, out y23);
        ToOutputs(e0, e1, e2, e3, e4, e5, out y30, out y31, out y32, out y33);
    }

    /// <summary>Aᵀ down column x of the tiles' 6x6 M: that column of the four rows of Aᵀ M.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void OutputColumn(float* m, int x, long pointStride, out Vector<float> y0, out Vector<float> y1, out Vector<float> y2, out Vector<float> y3)
    {
        float* column = m + x * pointStride;
        ToOutputs(Vector.Load(column), Vector.Load(column + PatchSize * pointStride), Vector.Load(column + 2 * PatchSize * pointStride),
            Vector.Load(column + 3 * PatchSize * pointStride), Vector.Load(column + 4 * PatchSize * pointStride), Vector.Load(column + 5 * PatchSize * pointStride),
            out y0, out y1, out y2, out y3);
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
