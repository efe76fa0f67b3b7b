using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace HelloDl.Kernels;

/// <summary>
/// 2-D convolution of a batch [N, C, H, W] with weights [O, C, KH, KW], as one im2col matrix
/// multiply per small group of images: the group's patch matrix [C·KH·KW, images·OH·OW] stays in
/// cache between being written and being multiplied. Groups are as small as keeps the product
/// wide enough for the register tiles (one image for 26x26 outputs, 16 for 4x4), and threads
/// take whole groups. The weights are packed for the multiply once per call, not once per group.
/// With one image per group, W·cols is already that image's slice of the NCHW output, so nothing
/// is reshuffled.
/// </summary>
public static unsafe class Convolution
{
    /// <summary>Columns a product should have at least: a few 32-wide register tiles.</summary>
    const int MinimumColumns = 256;

    /// <summary>
    /// The weight gradient sums over images in this many fixed groups, each into its own partial
    /// sum, added in order at the end: the result does not depend on the thread count.
    /// </summary>
    const int WeightGradientGroups = 8;

    [ThreadStatic] static float[]? _cols;
    [ThreadStatic] static float[]? _product;
    [ThreadStatic] static float[]? _packedWeights;

    static float* Scratch(ref float[]? buffer, long length)
    {
        if (buffer is null || buffer.Length < length) buffer = GC.AllocateUninitializedArray<float>((int)length, pinned: true);
        return (float*)Unsafe.AsPointer(ref buffer[0]);
    }

    /// <summary>W [rows, depth] (or Wᵀ when <paramref name="transpose"/>) packed as the left operand, in the calling thread's buffer.</summary>
    static ReadOnlySpan<float> PackWeights(ReadOnlySpan<float> weight, bool transpose, int rows, int depth)
    {
        int length = Gemm.PackedLeftLength(rows, depth);
        if (_packedWeights is null || _packedWeights.Length < length) _packedWeights = new float[length];
        Gemm.PackLeft(weight, transpose, rows, depth, _packedWeights);
        return _packedWeights.AsSpan(0, length);
    }

    /// <summary>Images per matrix product for this geometry.</summary>
    public static int ImagesPerProduct(ConvGeometry g) => Math.Clamp((MinimumColumns + g.Positions - 1) / g.Positions, 1, g.Batch);

    /// <summary>y [N, O, OH, OW] = conv(x, weight) + bias.</summary>
    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> y, ConvGeometry g, int outputs)
    {
        int patch = g.Patch, positions = g.Positions, imageSize = g.Channels * g.Height * g.Width;
        int perGroup = ImagesPerProduct(g), groups = (g.Batch + perGroup - 1) / perGroup;
        var packed = PackWeights(weight, transpose: false, outputs, patch);
        int packedLength = packed.Length;
        fixed (float* px = x, pw = packed, pb = bias, py = y)
        {
            float* input = px, w = pw, b = pb, output = py;
            Parallelism.For(groups, (long)outputs * g.Columns * patch, group =>
            {
                int first = group * perGroup, images = Math.Min(perGroup, g.Batch - first), width = images * positions;
                float* cols = Scratch(ref _cols, (long)patch * width);
                for (int i = 0; i < images; i++) Im2Col.Unfold(input + (long)(first + i) * imageSize, cols + i * positions, width, g);
                var weights = new ReadOnlySpan<float>(w, packedLength);
                var colsSpan = new ReadOnlySpan<float>(cols, patch * width);
                float* target = output + (long)first * outputs * positions;
                if (images == 1)
                {
                    var image = new Span<float>(target, outputs * positions);
                    for (int o = 0; o < outputs; o++) image.Slice(o * positions, positions).Fill(b[o]);
                    Gemm.MultiplyPacked(weights, outputs, patch, colsSpan, false, image, positions, accumulate: true);
                    return;
                }
                // [O, images·P] product to the images' [O, P] slices, adding the bias on the way.
                float* product = Scratch(ref _product, (long)outputs * width);
                Gemm.MultiplyPacked(weights, outputs, patch, colsSpan, false, new Span<float>(product, outputs * width), width);
                for (int i = 0; i < images; i++)
                    for (int o = 0; o < outputs; o++)
                        TensorPrimitives.Add(new ReadOnlySpan<float>(product + o * width + i * positions, positions), b[o],
                            new Span<float>(target + ((long)i * outputs + o) * positions, positions));
            });
        }
    }

    /// <summary>dx [N, C, H, W] += the input gradient for output gradient dy [N, O, OH, OW].</summary>
    public static void BackwardInput(ReadOnlySpan<float> weight, ReadOnlySpan<float> dy, Span<float> dx, ConvGeometry g, int outputs)
    {
        int patch = g.Patch, positions = g.Positions, imageSize = g.Channels * g.Height * g.Width;
        int perGroup = ImagesPerProduct(g), groups = (g.Batch + perGroup - 1) / perGroup;
        var packed = PackWeights(weight, transpose: true, patch, outputs);
        int packedLength = packed.Length;
        fixed (float* pw = packed, pdy = dy, pdx = dx)
        {
            float* w = pw, gradOut = pdy, gradIn = pdx;
            Parallelism.For(groups, (long)outputs * g.Columns * patch, group =>
            {
                // dcols = Wᵀ dY for these images, folded back onto their input positions.
                int first = group * perGroup, images = Math.Min(perGroup, g.Batch - first), width = images * positions;
                var dyGroup = GatherGroup(gradOut + (long)first * outputs * positions, images, outputs, positions);
                float* dcols = Scratch(ref _cols, (long)patch * width);
                Gemm.MultiplyPacked(new ReadOnlySpan<float>(w, packedLength), patch, outputs, dyGroup, false, new Span<float>(dcols, patch * width), width);
                for (int i = 0; i < images; i++) Im2Col.FoldAdd(dcols + i * positions, width, gradIn + (long)(first + i) * imageSize, g);
            });
        }
    }

    /// <summary>Floats of scratch <see cref="BackwardWeights"/> needs.</summary>
    public static int WeightGradientScratch(ConvGeometry g, int outputs) => Math.Min(g.Batch, WeightGradientGroups) * (outputs * g.Patch + outputs);

    /// <summary>dWeight [O, C·KH·KW] += Σ dY colsᵀ over the batch, dBias [O] += Σ dY, recomputing the patch matrices.</summary>
    public static void BackwardWeights(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dWeight, Span<float> dBias, Span<float> scratch, ConvGeometry g, int outputs)
    {
        int patch = g.Patch, positions = g.Positions, imageSize = g.Channels * g.Height * g.Width, perProduct = ImagesPerProduct(g);
        int groups = Math.Min(g.Batch, WeightGradientGroups), partialSize = outputs * patch + outputs;
        // A narrow patch (the first layer's 9) would waste most of a register tile as the output's
        // width: such layers compute dWᵀ = cols dYᵀ instead, and add it transposed.
        bool transposed = patch < outputs;
        fixed (float* px = x, pdy = dy, ps = scratch)
        {
            float* input = px, gradOut = pdy, partials = ps;
            Parallelism.For(groups, (long)outputs * g.Columns * patch, group =>
            {
                float* partial = partials + (long)group * partialSize;
                var weightSum = new Span<float>(partial, outputs * patch);
                var biasSum = new Span<float>(partial + outputs * patch, outputs);
                weightSum.Clear();
                biasSum.Clear();
                int end = g.Batch * (group + 1) / groups;
                for (int first = g.Batch * group / groups; first < end; first += perProduct)
                {
                    int images = Math.Min(perProduct, end - first), width = images * positions;
                    float* cols = Scratch(ref _cols, (long)patch * width);
                    for (int i = 0; i < images; i++) Im2Col.Unfold(input + (long)(first + i) * imageSize, cols + i * positions, width, g);
                    var colsSpan = new ReadOnlySpan<float>(cols, patch * width);
                    var dyGroup = GatherGroup(gradOut + (long)first * outputs * positions, images, outputs, positions);
                    if (transposed) Gemm.Multiply(colsSpan, false, dyGroup, true, weightSum, patch, outputs, width, accumulate: true);
                    else Gemm.Multiply(dyGroup, false, colsSpan, true, weightSum, outputs, patch, width, accumulate: true);
                    for (int o = 0; o < outputs; o++) biasSum[o] += TensorPrimitives.Sum(dyGroup.Slice(o * width, width));
                }
            });
        }
        for (int group = 0; group < groups; group++)
        {
            var partial = scratch.Slice(group * partialSize, partialSize);
            if (transposed)
                for (int row = 0; row < patch; row++)
                    for (int o = 0; o < outputs; o++) dWeight[o * patch + row] += partial[row * outputs + o];
            else TensorPrimitives.Add(dWeight, partial[..(outputs * patch)], dWeight);
            TensorPrimitives.Add(dBias, partial.Slice(outputs * patch, outputs), dBias);
        }
    }

    /// <summary>The images' dY [images, O, P] as one [O, images·P] matrix (the images' own slice when there is one).</summary>
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
}
