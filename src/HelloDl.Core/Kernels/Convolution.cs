using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace HelloDl.Kernels;

/// <summary>
/// 2-D convolution of a batch [N, C, H, W] with weights [O, C, KH, KW], as one im2col matrix
/// multiply per small group of images: the group's patch matrix [C·KH·KW, images·OH·OW] stays in
/// cache between being written and being multiplied. Groups are as small as keeps the product
/// wide enough for the register tiles (one image for 26x26 outputs, 16 for 4x4), and threads
/// take whole groups. The weights are packed for the multiply once per call, not once per group.
/// With one image per group, W·cols is already that image's slice of the NCHW output, so nothing
/// is reshuffled. A max pooling after the convolution can run inside it: each group's output is
/// pooled while in cache and never written out whole (hello-dl's first layer: 5.5 MB per batch of 64),
/// and a GELU after the pooling applied to it there too. 3x3 stride-1 layers with enough channels
/// run as Winograd F(4x4, 3x3) instead (<see cref="Winograd"/>), pooling in its tiles where the
/// windows lie in the tiles, and then taking their backward in the same domain.
/// </summary>
public static unsafe class Convolution
{
    /// <summary>
    /// Whether 3x3 stride-1 layers with enough channels run as Winograd F(4x4, 3x3) (<see cref="Winograd"/>):
    /// their forward, and their backward where the pooling is in the tiles. On by default, settable so
    /// that tests and benchmarks compare both.
    /// </summary>
    public static bool UseWinograd { get; set; } = true;

    /// <summary>
    /// Whether a pooled layer whose input gradient is not wanted (the network's first) sums its weight
    /// gradient at the pooling's winners (<see cref="WeightGradientAtWinners"/>) where its patch is
    /// narrow, instead of by a product over every output position. On by default, settable so that
    /// tests and benchmarks compare both.
    /// </summary>
    public static bool SumAtWinners { get; set; } = true;

    /// <summary>
    /// Under a 2x2 pooling three in four of the convolution's output gradients are 0, and a narrow
    /// patch (the first layer's 9 taps) leaves the product's register tiles mostly empty: hello-dl's
    /// first layer spent its backward writing out those zeros, recomputing the patches and packing:
    /// 652-698 us a batch of 64, against 286-293 summed at the winners (Zen 4, CNN epochs timed op by op).
    /// The winners' patch rows are read as masked vectors, so rows of at most four taps and no padding.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static bool SumsAtWinners(ConvGeometry g, int outputs, bool pooled, bool wantInput) =>
        SumAtWinners && pooled && !wantInput && Fma.IsSupported && g.Padding == 0 && g.KernelWidth <= 4 && g.Patch < outputs
        && g.Positions < WinnerIndexLimit;

    /// <summary>
    /// Output planes smaller than this have their winners' rows found in floats exactly: the index
    /// (+ 0.5) / OW lies at least 0.5 / OW from a whole number, and float error stays below that.
    /// </summary>
    const int WinnerIndexLimit = 1 << 20;

    /// <summary>Columns a product should have at least: a few 32-wide register tiles.</summary>
    const int MinimumColumns = 256;

    /// <summary>
    /// The weight gradient sums over images in up to this many fixed groups, each into its own partial
    /// sum, added in order at the end: the result does not depend on the thread count.
    /// </summary>
    const int WeightGradientGroups = 8;

    /// <summary>
    /// Groups the weight gradient sums over: as many as there are products' worth of images, up to
    /// <see cref="WeightGradientGroups"/>, so that no group's products are narrower than the forward's
    /// (hello-dl's third layer, one Winograd tile an image, takes 2 groups of 32 images). Fixed by the
    /// geometry alone, as the results must be.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static int WeightGradientGroupCount(ConvGeometry g, bool winograd)
    {
        int perProduct = winograd ? Winograd.ImagesPerProduct(g) : ImagesPerProduct(g);
        return Math.Clamp((g.Batch + perProduct - 1) / perProduct, 1, WeightGradientGroups);
    }

    [ThreadStatic] static float[]? _cols;
    [ThreadStatic] static float[]? _product;
    [ThreadStatic] static float[]? _dcols;
    [ThreadStatic] static float[]? _packedWeights;
    [ThreadStatic] static float[]? _filterGradient;

    /// <summary>A pinned scratch buffer of at least <paramref name="length"/> floats (a thread-static one, grown when short).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float* Scratch(ref float[]? buffer, long length)
    {
        if (buffer is null || buffer.Length < length) buffer = GC.AllocateUninitializedArray<float>((int)length, pinned: true);
        return (float*)Unsafe.AsPointer(ref buffer[0]);
    }

    /// <summary>W [rows, depth] (or Wᵀ when <paramref name="transpose"/>) packed as the left operand, in the calling thread's buffer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static ReadOnlySpan<float> PackWeights(ReadOnlySpan<float> weight, bool transpose, int rows, int depth)
    {
        int length = Gemm.PackedLeftLength(rows, depth);
        if (_packedWeights is null || _packedWeights.Length < length) _packedWeights = new float[length];
        Gemm.PackLeft(weight, transpose, rows, depth, _packedWeights);
        return _packedWeights.AsSpan(0, length);
    }

    /// <summary>Images per matrix product for this geometry.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static int ImagesPerProduct(ConvGeometry g) => Math.Clamp((MinimumColumns + g.Positions - 1) / g.Positions, 1, g.Batch);

    /// <summary>
    /// y = conv(x, weight) + bias: [N, O, OH, OW], or with <paramref name="pool"/> the max pooling of
    /// that, [N, O, PH, PW], with each winner's index within its OH x OW plane in <paramref name="argmax"/> (when given).
    /// With <paramref name="gelu"/> (pooling only) y is GELU of the pooled values, and
    /// <paramref name="geluSlope"/> (when given) gets GELU's derivative at each.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> y, ConvGeometry g, int outputs,
        PoolGeometry? pool = null, float[]? argmax = null, bool gelu = false, float[]? geluSlope = null)
    {
        if (gelu && !pool.HasValue) throw new ArgumentException("The GELU epilogue follows a pooling.", nameof(gelu));
        int patch = g.Patch, positions = g.Positions, imageSize = g.Channels * g.Height * g.Width;
        bool winograd = UseWinograd && Winograd.Suits(g);
        int perGroup = winograd ? Winograd.ImagesPerForwardProduct(g) : ImagesPerProduct(g), groups = (g.Batch + perGroup - 1) / perGroup;
        var packed = winograd ? Winograd.TransformFilters(weight, outputs, g.Channels) : PackWeights(weight, transpose: false, outputs, patch);
        int packedLength = packed.Length;
        bool pooling = pool.HasValue;
        var window = pool.GetValueOrDefault();
        bool tilesPooled = winograd && pooling && Winograd.PoolsTiles(g, window);
        fixed (float* px = x, pw = packed, pb = bias, py = y, pa = argmax, ps = geluSlope)
        {
            float* input = px, w = pw, b = pb, output = py, winners = pa, slopes = ps;
            Parallelism.For(groups, (long)outputs * g.Columns * patch, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (group) =>
            {
                int first = group * perGroup, images = Math.Min(perGroup, g.Batch - first), width = images * positions;
                float* product = tilesPooled ? null : Scratch(ref _product, (long)outputs * width);
                if (tilesPooled)
                {
                    long pooledAt = (long)first * outputs * window.Positions;
                    Winograd.ConvolvePooled(input + (long)first * imageSize, images, g, outputs, w, b, output + pooledAt, winners == null ? null : winners + pooledAt);
                }
                else if (winograd) Winograd.Convolve(input + (long)first * imageSize, images, g, outputs, w, product);
                else
                {
                    float* cols = Scratch(ref _cols, (long)patch * width);
                    for (int i = 0; i < images; i++) Im2Col.Unfold(input + (long)(first + i) * imageSize, cols + i * positions, width, g);
                    var weights = new ReadOnlySpan<float>(w, packedLength);
                    var colsSpan = new ReadOnlySpan<float>(cols, patch * width);
                    if (!pooling && images == 1)
                    {
                        var image = new Span<float>(output + (long)first * outputs * positions, outputs * positions);
                        for (int o = 0; o < outputs; o++) image.Slice(o * positions, positions).Fill(b[o]);
                        Gemm.MultiplyPacked(weights, outputs, patch, colsSpan, false, image, positions, accumulate: true);
                        return;
                    }
                    Gemm.MultiplyPacked(weights, outputs, patch, colsSpan, false, new Span<float>(product, outputs * width), width);
                }
                for (int i = 0; i < images; i++)
                {
                    for (int o = 0; o < outputs && !tilesPooled; o++)
                    {
                        float* plane = product + o * width + i * positions;
                        if (!pooling)
                        {
                            TensorPrimitives.Add(new ReadOnlySpan<float>(plane, positions), b[o],
                                new Span<float>(output + ((long)(first + i) * outputs + o) * positions, positions));
                            continue;
                        }
                        // max(conv + b) = max(conv) + b: the bias is added to the pooled values only.
                        long pooledAt = ((long)(first + i) * outputs + o) * window.Positions;
                        Pooling.MaxForwardPlane(plane, g.OutputHeight, g.OutputWidth, output + pooledAt, winners == null ? null : winners + pooledAt, window, b[o]);
                    }
                    if (!gelu) continue;
                    // The whole image at once: its pooled planes are contiguous, and short (2x2) planes alone would run scalar.
                    long imageAt = (long)(first + i) * outputs * window.Positions;
                    Activations.GeluRun(output + imageAt, output + imageAt, slopes == null ? null : slopes + imageAt, outputs * window.Positions);
                }
            });
        }
    }

    /// <summary>Floats of scratch <see cref="Backward"/> needs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int BackwardScratch(ConvGeometry g, int outputs, PoolGeometry? pool) =>
        WeightGradientGroupCount(g, WinogradBackward(g, pool)) * (WeightPartial(g, outputs, WinogradBackward(g, pool)) + outputs);

    /// <summary>Floats of a group's partial weight gradient: dW [O, C·KH·KW], or dU [36, O, C] for Winograd.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static int WeightPartial(ConvGeometry g, int outputs, bool winograd) => winograd ? Winograd.FilterGradientLength(outputs, g.Channels) : outputs * g.Patch;

    /// <summary>Whether the backward runs in Winograd's domain: where the forward pooled in its tiles.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static bool WinogradBackward(ConvGeometry g, PoolGeometry? pool) =>
        UseWinograd && Winograd.Suits(g) && pool is { } window && Winograd.PoolsTiles(g, window);

    /// <summary>
    /// From the output gradient dy (of the convolution, or of its pooling when <paramref name="pool"/>
    /// is given, with the winners <see cref="Forward"/> recorded, and of the GELU after it when
    /// <paramref name="geluSlope"/> holds that GELU's derivatives): dWeight [O, C·KH·KW] += Σ dY colsᵀ,
    /// dBias [O] += Σ dY and, unless <paramref name="dx"/> is empty, dx [N, C, H, W] += fold(Wᵀ dY).
    /// The patch matrices are recomputed from x, group by group. Where the forward pooled in its
    /// Winograd tiles, the gradients are taken in Winograd's domain instead (<see cref="Winograd.BackwardPooled"/>);
    /// where dx is not wanted and the patch is narrow, dWeight is summed at the pooling's winners (<see cref="SumsAtWinners"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> dy, PoolGeometry? pool, float[]? argmax, float[]? geluSlope,
        Span<float> dWeight, Span<float> dBias, Span<float> dx, Span<float> scratch, ConvGeometry g, int outputs)
    {
        bool winograd = WinogradBackward(g, pool), atWinners = !winograd && SumsAtWinners(g, outputs, pooled: pool.HasValue, wantInput: !dx.IsEmpty);
        int patch = g.Patch, positions = g.Positions, imageSize = g.Channels * g.Height * g.Width;
        int perProduct = winograd ? Winograd.ImagesPerProduct(g) : ImagesPerProduct(g);
        int groups = WeightGradientGroupCount(g, winograd), weightPartial = WeightPartial(g, outputs, winograd), partialSize = weightPartial + outputs;
        bool wantInput = !dx.IsEmpty;
        var packed = !wantInput ? default
            : winograd ? Winograd.TransformAndPackFilters(weight, outputs, g.Channels) : PackWeights(weight, transpose: true, patch, outputs);
        int packedLength = packed.Length;
        // A narrow patch (the first layer's 9) would waste most of a register tile as the output's
        // width: such layers compute dWᵀ = cols dYᵀ instead, and add it transposed.
        bool transposed = patch < outputs && !atWinners;
        var window = pool.GetValueOrDefault();
        bool pooled = pool.HasValue;
        fixed (float* px = x, pdy = dy, pa = argmax, pg = geluSlope, pw = packed, pdx = dx, ps = scratch)
        {
            float* input = px, gradOut = pdy, winners = pa, slopes = pg, w = pw, gradIn = pdx, partials = ps;
            Parallelism.For(groups, (long)outputs * g.Columns * patch * (wantInput ? 2 : 1), [MethodImpl(MethodImplOptions.AggressiveOptimization)] (group) =>
            {
                float* partial = partials + (long)group * partialSize;
                var weightSum = new Span<float>(partial, weightPartial);
                var biasSum = new Span<float>(partial + weightPartial, outputs);
                biasSum.Clear();
                int start = g.Batch * group / groups, end = g.Batch * (group + 1) / groups;
                if (atWinners)
                {
                    for (int image = start; image < end; image++)
                    {
                        long pooledAt = (long)image * outputs * window.Positions;
                        WeightGradientAtWinners(input + (long)image * imageSize, gradOut + pooledAt, winners + pooledAt, slopes == null ? null : slopes + pooledAt,
                            partial, partial + weightPartial, outputs, g, window, overwrite: image == start);
                    }
                    return;
                }
                for (int first = start; first < end; first += perProduct)
                {
                    // The group's first product writes its partial weight gradient and the others add to it, so no
                    // pass clears it (no group is empty: there are no more groups than images).
                    bool overwrite = first == start;
                    int images = Math.Min(perProduct, end - first), width = images * positions;
                    if (winograd)
                    {
                        long pooledAt = (long)first * outputs * window.Positions;
                        Winograd.BackwardPooled(input + (long)first * imageSize, images, g, outputs, w, gradOut + pooledAt, winners + pooledAt,
                            slopes == null ? null : slopes + pooledAt, partial, overwrite, partial + weightPartial, wantInput ? gradIn + (long)first * imageSize : null);
                        continue;
                    }
                    var dyGroup = pooled
                        ? ScatterPooled(gradOut, winners, slopes, first, images, outputs, g, window)
                        : GatherGroup(gradOut + (long)first * outputs * positions, images, outputs, positions);
                    float* cols = Scratch(ref _cols, (long)patch * width);
                    for (int i = 0; i < images; i++) Im2Col.Unfold(input + (long)(first + i) * imageSize, cols + i * positions, width, g);
                    var colsSpan = new ReadOnlySpan<float>(cols, patch * width);
                    if (transposed) Gemm.Multiply(colsSpan, false, dyGroup, true, weightSum, patch, outputs, width, accumulate: !overwrite);
                    else Gemm.Multiply(dyGroup, false, colsSpan, true, weightSum, outputs, patch, width, accumulate: !overwrite);
                    for (int o = 0; o < outputs; o++) biasSum[o] += TensorPrimitives.Sum(dyGroup.Slice(o * width, width));
                    if (!wantInput) continue;
                    // dcols = Wᵀ dY for these images, folded back onto their input positions.
                    float* dcols = Scratch(ref _dcols, (long)patch * width);
                    Gemm.MultiplyPacked(new ReadOnlySpan<float>(w, packedLength), patch, outputs, dyGroup, false, new Span<float>(dcols, patch * width), width);
                    for (int i = 0; i < images; i++) Im2Col.FoldAdd(dcols + i * positions, width, gradIn + (long)(first + i) * imageSize, g);
                }
            });
        }
        if (!winograd)
        {
            AddPartials(scratch, groups, partialSize, dWeight, dBias, outputs, patch, transposed);
            return;
        }
        // The groups' dU summed in order, then transformed into dWeight once.
        var filterGradient = new Span<float>(Scratch(ref _filterGradient, weightPartial), weightPartial);
        AddPartials(scratch, groups, partialSize, filterGradient, dBias, weightPartial / g.Channels, g.Channels, transposed: false, overwrite: true);
        Winograd.AddFilterGradient(filterGradient, dWeight, outputs, g.Channels);
    }

    /// <summary>
    /// dWeight [outputs, patch] and dBias += the groups' partial sums, group after group (a fixed
    /// order), with the threads taking disjoint slices of the weights; with <paramref name="overwrite"/>,
    /// dWeight = their sum. Winograd's dU [36·O, C] is summed the same way, as a [36·O, C] "dWeight".
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void AddPartials(Span<float> scratch, int groups, int partialSize, Span<float> dWeight, Span<float> dBias, int outputs, int patch, bool transposed,
        bool overwrite = false)
    {
        if (scratch.Length < (long)groups * partialSize || dBias.Length > partialSize - outputs * patch)
            throw new ArgumentException("The partial sums are shorter than their groups.", nameof(scratch));
        fixed (float* ps = scratch, pw = dWeight, pb = dBias)
        {
            float* partials = ps, weights = pw;
            // With the rest of a step: TensorPrimitives.Add ran unoptimised, then instrumented, through a first epoch.
            for (int group = 0; group < groups; group++) Im2Col.AddTo(partials + (long)group * partialSize + outputs * patch, pb, dBias.Length);
            if (transposed)
            {
                // Partials are dWᵀ [patch, O]: row r of the partial is column r of dWeight. A narrow first layer's, a few hundred floats.
                if (overwrite) dWeight.Slice(0, outputs * patch).Clear();
                for (int group = 0; group < groups; group++)
                    for (int row = 0; row < patch; row++)
                        for (int o = 0; o < outputs; o++) weights[o * patch + row] += partials[(long)group * partialSize + row * outputs + o];
                return;
            }
            int length = outputs * patch;
            Parallelism.For((length + SumSlice - 1) / SumSlice, (long)groups * partialSize, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (slice) =>
            {
                int start = slice * SumSlice;
                SumGroups(weights + start, partials + start, partialSize, groups, Math.Min(SumSlice, length - start), overwrite);
            });
        }
    }

    /// <summary>
    /// Floats of the weights one piece of <see cref="AddPartials"/> sums. In slices of eight rows, one
    /// library call per group and slice (2,304 calls of 256 floats a step at the second layer), the
    /// adds were 4% of both cores' samples under `perf` in a CNN epoch on Zen 4, and Winograd's sum
    /// was cleared in a pass of its own first.
    /// </summary>
    const int SumSlice = 4096;

    /// <summary>sum (=, or += without <paramref name="overwrite"/>) partial 0 + partial 1 + ..., in that order, in one pass.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void SumGroups(float* sum, float* partials, int partialSize, int groups, int count, bool overwrite)
    {
        int i = 0;
        for (; i <= count - Vector256<float>.Count; i += Vector256<float>.Count)
        {
            var total = overwrite ? Vector256.Load(partials + i) : Vector256.Load(sum + i) + Vector256.Load(partials + i);
            for (int group = 1; group < groups; group++) total += Vector256.Load(partials + (long)group * partialSize + i);
            total.Store(sum + i);
        }
        for (; i < count; i++)
        {
            float total = overwrite ? partials[i] : sum[i] + partials[i];
            for (int group = 1; group < groups; group++) total += partials[(long)group * partialSize + i];
            sum[i] = total;
        }
    }

    /// <summary>
    /// dWeight [O, C·KH·KW] (=, or += without <paramref name="overwrite"/>) and dBias [O] += one image's
    /// weight and bias gradients from its pooled gradients alone: each window's gradient (times GELU's
    /// derivative there when <paramref name="slopes"/> is not null) times the input patch under its
    /// winner. A patch row is one masked vector load; three rows are summed in one pass over the windows.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void WeightGradientAtWinners(float* image, float* dPooled, float* winners, float* slopes, float* dWeight, float* dBias, int outputs,
        ConvGeometry g, PoolGeometry window, bool overwrite)
    {
        int windows = window.Positions, taps = g.KernelWidth, rows = g.Channels * g.KernelHeight;
        float* scratch = Scratch(ref _cols, 2L * windows);
        int* patchAt = (int*)scratch;           // where each window's winner's patch starts in the image
        float* gradient = scratch + windows;
        var mask = Vector128.LessThan(Vector128.Create(0, 1, 2, 3), Vector128.Create(taps)).AsSingle();
        float perRow = 1f / g.OutputWidth;
        int rowGap = g.Width - g.OutputWidth;
        for (int o = 0; o < outputs; o++)
        {
            long at = (long)o * windows;
            // Each winner's patch starts at (row·W + column)·stride = (index + row·(W - OW))·stride, its row
            // index / OW found in floats, exactly for the indices SumsAtWinners admits; eight windows at a time.
            var sums = Vector256<float>.Zero;
            int w = 0;
            for (; w + 8 <= windows; w += 8)
            {
                var index = Vector256.Load(winners + at + w);
                var row = Vector256.ConvertToInt32(Vector256.Floor((index + Vector256.Create(0.5f)) * Vector256.Create(perRow)));
                ((Vector256.ConvertToInt32(index) + row * Vector256.Create(rowGap)) * Vector256.Create(g.Stride)).Store(patchAt + w);
                var value = Vector256.Load(dPooled + at + w);
                if (slopes != null) value *= Vector256.Load(slopes + at + w);
                value.Store(gradient + w);
                sums += value;
            }
            float biasSum = Vector256.Sum(sums);
            for (; w < windows; w++)
            {
                float index = winners[at + w];
                patchAt[w] = ((int)index + (int)MathF.Floor((index + 0.5f) * perRow) * rowGap) * g.Stride;
                float value = slopes == null ? dPooled[at + w] : dPooled[at + w] * slopes[at + w];
                gradient[w] = value;
                biasSum += value;
            }
            dBias[o] += biasSum;
            // Three patch rows at a time (a last block repeats its last row, whose sums are dropped), each
            // summed in two chains, even and odd windows: six accumulators share each window's loads.
            float* filter = dWeight + (long)o * rows * taps;
            for (int r0 = 0; r0 < rows; r0 += 3)
            {
                float* row0 = PatchRow(image, r0, g), row1 = PatchRow(image, Math.Min(r0 + 1, rows - 1), g), row2 = PatchRow(image, Math.Min(r0 + 2, rows - 1), g);
                Vector128<float> even0 = default, even1 = default, even2 = default, odd0 = default, odd1 = default, odd2 = default;
                int i = 0;
                for (; i + 2 <= windows; i += 2)
                {
                    int at0 = patchAt[i], at1 = patchAt[i + 1];
                    var gradient0 = Vector128.Create(gradient[i]);
                    var gradient1 = Vector128.Create(gradient[i + 1]);
                    even0 = Fma.MultiplyAdd(Avx.MaskLoad(row0 + at0, mask), gradient0, even0);
                    even1 = Fma.MultiplyAdd(Avx.MaskLoad(row1 + at0, mask), gradient0, even1);
                    even2 = Fma.MultiplyAdd(Avx.MaskLoad(row2 + at0, mask), gradient0, even2);
                    odd0 = Fma.MultiplyAdd(Avx.MaskLoad(row0 + at1, mask), gradient1, odd0);
                    odd1 = Fma.MultiplyAdd(Avx.MaskLoad(row1 + at1, mask), gradient1, odd1);
                    odd2 = Fma.MultiplyAdd(Avx.MaskLoad(row2 + at1, mask), gradient1, odd2);
                }
                if (i < windows)
                {
                    var last = Vector128.Create(gradient[i]);
                    even0 = Fma.MultiplyAdd(Avx.MaskLoad(row0 + patchAt[i], mask), last, even0);
                    even1 = Fma.MultiplyAdd(Avx.MaskLoad(row1 + patchAt[i], mask), last, even1);
                    even2 = Fma.MultiplyAdd(Avx.MaskLoad(row2 + patchAt[i], mask), last, even2);
                }
                AddTaps(filter + r0 * taps, even0 + odd0, taps, overwrite);
                if (r0 + 1 < rows) AddTaps(filter + (r0 + 1) * taps, even1 + odd1, taps, overwrite);
                if (r0 + 2 < rows) AddTaps(filter + (r0 + 2) * taps, even2 + odd2, taps, overwrite);
            }
        }
    }

    /// <summary>Where row <paramref name="r"/> (channel r / KH, kernel row r % KH) of a patch at 0 starts in the image.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float* PatchRow(float* image, int r, ConvGeometry g) => image + (long)(r / g.KernelHeight) * g.Height * g.Width + r % g.KernelHeight * g.Width;

    /// <summary>target[0..taps) = (or +=, without <paramref name="overwrite"/>) the first <paramref name="taps"/> lanes of sum.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void AddTaps(float* target, Vector128<float> sum, int taps, bool overwrite)
    {
        for (int k = 0; k < taps; k++) target[k] = overwrite ? sum[k] : target[k] + sum[k];
    }

    /// <summary>The images' dY [images, O, P] as one [O, images·P] matrix (the images' own slice when there is one).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static ReadOnlySpan<float> GatherGroup(float* dy, int images, int outputs, int positions)
    {
        int width = images * positions;
        if (images == 1) return new ReadOnlySpan<float>(dy, outputs * positions);
        float* gathered = Scratch(ref _product, (long)outputs * width);
        for (int i = 0; i < images; i++)
            for (int o = 0; o < outputs; o++)
                new ReadOnlySpan<float>(dy + ((long)i * outputs + o) * positions, positions).CopyTo(new Span<float>(gathered + o * width + i * positions, positions));
        return new ReadOnlySpan<float>(gathered, outputs * width);
    }

    /// <summary>
    /// The convolution's dY [O, images·P] for pooled gradients [N, O, PH·PW]: each goes to its
    /// window's winner (times the GELU's derivative there, when <paramref name="slopes"/> is not null), the rest is 0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static ReadOnlySpan<float> ScatterPooled(float* dPooled, float* winners, float* slopes, int first, int images, int outputs, ConvGeometry g, PoolGeometry window)
    {
        int positions = g.Positions, pooledPositions = window.Positions, width = images * positions;
        float* target = Scratch(ref _product, (long)outputs * width);
        // Whole planes written from their windows, sixteen at a time, with nothing to clear first, where
        // rows are long enough to pay for the masked stores: hello-dl's first layer (13 windows a row)
        // took a quarter less backward time; its second (6) took the same, its third (2) 4% more.
        if (Pooling.WindowsPerStep == 16 && window is { Kernel: 2, Stride: 2, OutputWidth: >= 8 })
        {
            for (int i = 0; i < images; i++)
                for (int o = 0; o < outputs; o++)
                {
                    long from = ((long)(first + i) * outputs + o) * pooledPositions;
                    Pooling.WinnersPlane2x2(dPooled + from, winners + from, slopes == null ? null : slopes + from,
                        target + o * width + i * positions, g.OutputHeight, g.OutputWidth, window);
                }
            return new ReadOnlySpan<float>(target, outputs * width);
        }
        new Span<float>(target, outputs * width).Clear();
        for (int i = 0; i < images; i++)
            for (int o = 0; o < outputs; o++)
            {
                long from = ((long)(first + i) * outputs + o) * pooledPositions;
                float* plane = target + o * width + i * positions;
                if (slopes == null)
                    for (int p = 0; p < pooledPositions; p++) plane[(int)winners[from + p]] += dPooled[from + p];
                else
                    for (int p = 0; p < pooledPositions; p++) plane[(int)winners[from + p]] += dPooled[from + p] * slopes[from + p];
            }
        return new ReadOnlySpan<float>(target, outputs * width);
    }
}
