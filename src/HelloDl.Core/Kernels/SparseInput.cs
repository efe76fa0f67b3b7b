using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace HelloDl.Kernels;

/// <summary>
/// y = x Wᵀ + b for rows of x that are mostly one background value, as a digit's pixels are (four
/// in five of MNIST's are blank). With x = background + d:
/// y = (b + background · Σⱼ W[:, j]) + Σ over the j where d ≠ 0 of dⱼ Wᵀ[j, :],
/// so a row costs its inked pixels, not all of them. Four rows are summed together, 32 outputs at a
/// time: each row of Wᵀ that any of the four needs is loaded once for all of them, and a row that
/// does not need it adds an exact zero. A row's result therefore does not depend on the rows it is
/// grouped with, nor on the thread it runs on. On Zen 4 the MLP's first layer took 421 µs for 512
/// MNIST test images on one thread, against 926 µs through the dense product at 95% of the FMA
/// peak (build.ps1 Bench -Section kernels). Training makes Wᵀ in every forward pass (eight by eight
/// through registers, each thread the outputs it computes), and its weight gradient
/// dW = dyᵀ x likewise sums only the inked pixels' rows (<see cref="WeightGradient"/>): on two Zen 4
/// threads, a batch of 64 MNIST images took 41 µs forward against 79 dense, and 30-35 µs for dW
/// against 69 (scratch harness outside the repository). AVX2 machines (no 512-bit vectors, sixteen
/// registers) sum two rows at a time over the pixels either needs, and a pair of pixels' 32
/// outputs in the weight gradient: on Zen 5 held to AVX2 (DOTNET_EnableAVX512=0) the first layer
/// took 336-350 µs for the 512 images against 909-943 dense, and an MLP training step 138-157 µs
/// against 194-207 (scratch harness, alternating runs).
/// </summary>
public static unsafe class SparseInput
{
    /// <summary>Outputs per pass: two 512-bit vectors for each of four rows, or four 256-bit ones for each of two (eight accumulators).</summary>
    public const int OutputBlock = 32;
    const int Group = 4;
    const int PixelBlock = 16;
    /// <summary>The rows' differences from the background are kept on the stack, four rows of them.</summary>
    const int MaximumInputs = 2048;

    /// <summary>
    /// Whether the SIMD path in use (<see cref="Gemm.Path"/>: AVX-512, or AVX2 with FMA) and these
    /// sizes can take the kernel: whole output blocks.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool Supports(int inputs, int outputs) =>
        Gemm.Path != SimdPath.Portable && outputs > 0 && outputs % OutputBlock == 0 && inputs is > 0 and <= MaximumInputs;

    /// <summary>Whether the sums run on 512-bit vectors; otherwise on 256-bit ones, half as many outputs at a time.</summary>
    static bool Wide => Gemm.Path == SimdPath.Avx512;

    /// <summary>
    /// From W [outputs, inputs] and b [outputs]: Wᵀ [inputs, outputs] and the start of every row,
    /// b + background · Σⱼ W[:, j].
    /// </summary>
    public static void Prepare(ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, int outputs, int inputs, float background,
        Span<float> transposed, Span<float> start)
    {
        if (!Supports(inputs, outputs)) throw Unsupported();
        if (weight.Length < outputs * inputs || bias.Length < outputs || transposed.Length < outputs * inputs || start.Length < outputs)
            throw new ArgumentException("The buffers are smaller than the sizes given.");
        fixed (float* pw = weight, pb = bias, pt = transposed, ps = start)
            PrepareOutputs(pw, pb, outputs, inputs, background, pt, ps, 0, outputs);
    }

    /// <summary>
    /// <see cref="Prepare"/> for outputs [first, last) (whole blocks of eight): their columns of Wᵀ,
    /// eight by eight through registers, and their start values.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void PrepareOutputs(float* weight, float* bias, int outputs, int inputs, float background, float* transposed, float* start, int first, int last)
    {
        int j = 0;
        // A column block at a time: the rows' cache lines stay in L1 for the next block, and Wᵀ's
        // rows are written in runs of eight (the MLP's Wᵀ in 15-18 µs on one Zen 4 core).
        for (; j + 8 <= inputs; j += 8)
            for (int o = first; o < last; o += 8)
                Gemm.Transpose8x8(weight + (long)o * inputs + j, inputs, 8, Panel(transposed, o, inputs) + j * OutputBlock + o % OutputBlock, OutputBlock);
        for (; j < inputs; j++)
            for (int o = first; o < last; o++) Panel(transposed, o, inputs)[j * OutputBlock + o % OutputBlock] = weight[(long)o * inputs + j];
        for (int o = first; o < last; o++) start[o] = bias[o] + background * RowSum(weight + (long)o * inputs, inputs);
    }

    /// <summary>
    /// Where output <paramref name="output"/>'s block of Wᵀ starts: Wᵀ is kept as panels of 32 outputs
    /// by all the inputs, so the threads that make and read different outputs share no cache line
    /// (with Wᵀ's rows whole, two threads making their halves of them took longer than one).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float* Panel(float* transposed, int output, int inputs) => transposed + (long)(output / OutputBlock) * OutputBlock * inputs;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static float RowSum(float* row, int count)
    {
        // Four chains of additions: one chain waited on each addition's latency, about 5 µs of a
        // training step's forward pass on each Zen 5 thread.
        Vector256<float> s0 = Vector256<float>.Zero, s1 = s0, s2 = s0, s3 = s0;
        int i = 0;
        for (; i + 32 <= count; i += 32)
        {
            s0 += Vector256.Load(row + i); s1 += Vector256.Load(row + i + 8);
            s2 += Vector256.Load(row + i + 16); s3 += Vector256.Load(row + i + 24);
        }
        for (; i + 8 <= count; i += 8) s0 += Vector256.Load(row + i);
        float total = Vector256.Sum(s0 + s1 + (s2 + s3));
        for (; i < count; i++) total += row[i];
        return total;
    }

    /// <summary>
    /// y [rows, outputs] = x [rows, inputs] Wᵀ + b, from <see cref="Prepare"/>'s buffers; with
    /// <paramref name="relu"/>, max(0, ·). Needs <see cref="Supports"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Multiply(ReadOnlySpan<float> x, int rows, int inputs, float background,
        ReadOnlySpan<float> transposed, ReadOnlySpan<float> start, Span<float> y, int outputs, bool relu)
    {
        if (!Supports(inputs, outputs)) throw Unsupported();
        if (x.Length < rows * inputs || transposed.Length < inputs * outputs || start.Length < outputs || y.Length < rows * outputs)
            throw new ArgumentException("The buffers are smaller than the sizes given.");
        fixed (float* px = x, pw = transposed, ps = start, py = y)
            MultiplyRows(px, rows, inputs, background, pw, ps, py, outputs, relu, 0, outputs);
    }

    /// <summary>
    /// Training's forward pass: y = x Wᵀ + b (with <paramref name="relu"/>, max(0, ·)) from W itself,
    /// whose Wᵀ and start row are made first into <paramref name="scratch"/>
    /// (<see cref="ForwardScratchLength"/> floats). The kernel threads share both steps by blocks of
    /// 32 outputs, so the result does not depend on the thread count.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward(ReadOnlySpan<float> x, int rows, int inputs, float background, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        Span<float> y, int outputs, bool relu, Span<float> scratch)
    {
        if (!Supports(inputs, outputs)) throw Unsupported();
        if (x.Length < rows * inputs || weight.Length < outputs * inputs || bias.Length < outputs || y.Length < rows * outputs
            || scratch.Length < ForwardScratchLength(inputs, outputs))
            throw new ArgumentException("The buffers are smaller than the sizes given.");
        fixed (float* px = x, pw = weight, pb = bias, py = y, pt = scratch)
        {
            float* input = px, w = pw, b = pb, output = py, transposed = pt, start = pt + (long)inputs * outputs;
            int blocks = outputs / OutputBlock;
            int pieces = Math.Min(Parallelism.MaxThreads, blocks);
            // Each thread makes the columns of Wᵀ it reads: made by one thread and read by both, Wᵀ
            // moved between the cores' caches on every step, and two threads took longer than one.
            // The work counts a fifth of the pixels: about as many as a digit inks.
            Parallelism.For(pieces, (long)rows * inputs * outputs / 5, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (piece) =>
            {
                int first = blocks * piece / pieces * OutputBlock, last = blocks * (piece + 1) / pieces * OutputBlock;
                PrepareOutputs(w, b, outputs, inputs, background, transposed, start, first, last);
                MultiplyRows(input, rows, inputs, background, transposed, start, output, outputs, relu, first, last);
            });
        }
    }

    /// <summary>Floats <see cref="Forward"/> needs for its Wᵀ and start row.</summary>
    public static int ForwardScratchLength(int inputs, int outputs) => inputs * outputs + outputs;

    [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit]
    static void MultiplyRows(float* x, int rows, int inputs, float background, float* transposed, float* start, float* y, int outputs, bool relu,
        int firstOutput, int lastOutput)
    {
        int blocks = (inputs + PixelBlock - 1) / PixelBlock;
        // The four rows' differences, padded to whole pixel blocks with zeros; which pixels any of them needs.
        float* differences = stackalloc float[Group * blocks * PixelBlock];
        new Span<float>(differences, Group * blocks * PixelBlock).Clear();
        // Which pixels the four rows need (512-bit vectors), or each pair of rows (256-bit ones).
        bool wide = Wide;
        ushort* needed = stackalloc ushort[2 * blocks];
        int stride = blocks * PixelBlock;
        for (int first = 0; first < rows; first += Group)
        {
            int count = Math.Min(Group, rows - first);
            Differences(x + (long)first * inputs, count, inputs, background, differences, needed, blocks, wide);
            for (int column = firstOutput; column < lastOutput; column += OutputBlock)
            {
                float* panel = Panel(transposed, column, inputs), output = y + (long)first * outputs + column;
                if (wide) SumBlock(differences, needed, blocks, panel, outputs, start + column, output, count, relu);
                else
                    for (int pair = 0; pair < count; pair += 2)
                        SumRowPair(differences + pair * stride, needed + pair / 2 * blocks, blocks, panel, outputs, start + column,
                            output + (long)pair * outputs, Math.Min(2, count - pair), relu);
            }
        }
    }

    /// <summary>
    /// The weight gradient of <see cref="Forward"/>: dW [outputs, inputs] = dyᵀ x (added to dW with
    /// <paramref name="accumulate"/>), as background · Σ_rows dy + Σ over the rows inked at a pixel of
    /// dy · (x - background). Each pixel lists the rows inked there (a bit per row, in
    /// <paramref name="scratch"/>: <see cref="WeightGradientScratchLength"/> floats); two pixels' 128
    /// outputs at a time (their 32 on 256-bit vectors, and for the outputs left over) are summed in registers into a
    /// tile of eight pixels, turned into dW's columns through registers. The threads take whole
    /// blocks of pixels, so the result does not depend on their count.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void WeightGradient(ReadOnlySpan<float> x, int rows, int inputs, float background, ReadOnlySpan<float> dy, int outputs,
        Span<float> dWeight, bool accumulate, Span<float> scratch)
    {
        if (!Supports(inputs, outputs)) throw Unsupported();
        if (x.Length < rows * inputs || dy.Length < rows * outputs || dWeight.Length < outputs * inputs
            || scratch.Length < WeightGradientScratchLength(rows, inputs, outputs))
            throw new ArgumentException("The buffers are smaller than the sizes given.");
        int words = (rows + 63) / 64;
        fixed (float* px = x, pd = dy, pw = dWeight, pscratch = scratch)
        {
            float* input = px, gradient = pd, weight = pw, backgroundTerm = pscratch;
            ulong* inked = (ulong*)(pscratch + outputs);
            // background · Σ_rows dy: what every pixel's column starts from.
            for (int o = 0; o < outputs; o += 8)
            {
                var sum = Vector256<float>.Zero;
                for (int r = 0; r < rows; r++) sum += Vector256.Load(gradient + (long)r * outputs + o);
                (sum * background).Store(backgroundTerm + o);
            }
            int blocks = (inputs + PixelBlock - 1) / PixelBlock;
            int pieces = Math.Min(Parallelism.MaxThreads, blocks);
            Parallelism.For(pieces, (long)rows * inputs * outputs / 5, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (piece) =>
            {
                int first = blocks * piece / pieces * PixelBlock, last = Math.Min(inputs, blocks * (piece + 1) / pieces * PixelBlock);
                FindInkedRows(input, rows, inputs, background, inked, words, first, last);
                WeightGradientColumns(input, inputs, background, gradient, outputs, backgroundTerm, inked, words, weight, accumulate, first, last);
            });
        }
    }

    /// <summary>Floats <see cref="WeightGradient"/> needs: a start row, and a bit per row and pixel.</summary>
    public static int WeightGradientScratchLength(int rows, int inputs, int outputs) => outputs + inputs * ((rows + 63) / 64) * 2;

    /// <summary>
    /// For pixels [first, last) (first a whole pixel block), a bit for every row whose value there is
    /// not the background. Per block of 16 pixels and 64 rows, each row's 16 bits are found by one
    /// comparison, then the 64 rows' bits for a pixel are picked out of them by two vector tests
    /// (setting a bit per inked pixel and row took 26 µs a batch of 64 on one Zen 4 core).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit]
    static void FindInkedRows(float* x, int rows, int inputs, float background, ulong* inked, int words, int first, int last)
    {
        ushort* rowBits = stackalloc ushort[64];
        var blank = Vector256.Create(background);
        for (int j = first; j < last; j += PixelBlock)
        {
            int pixels = Math.Min(PixelBlock, last - j);
            for (int w = 0; w < words; w++)
            {
                for (int r = 0; r < 64; r++)
                {
                    int row = w * 64 + r;
                    float* values = x + (long)row * inputs + j;
                    if (row >= rows) rowBits[r] = 0;
                    // Compared as floats: -0 and 0 differ from each other by an exact zero.
                    else if (pixels == PixelBlock)
                        rowBits[r] = (ushort)(NotBlank(Vector256.Load(values), blank) | NotBlank(Vector256.Load(values + 8), blank) << 8);
                    else
                    {
                        uint bits = 0;
                        for (int p = 0; p < pixels; p++) if (values[p] != background) bits |= 1u << p;
                        rowBits[r] = (ushort)bits;
                    }
                }
                Vector256<ushort> rows0 = Vector256.Load(rowBits), rows1 = Vector256.Load(rowBits + 16);
                Vector256<ushort> rows2 = Vector256.Load(rowBits + 32), rows3 = Vector256.Load(rowBits + 48);
                for (int p = 0; p < pixels; p++)
                {
                    var bit = Vector256.Create((ushort)(1 << p));
                    inked[(long)(j + p) * words + w] = HasBit(rows0, bit) | HasBit(rows1, bit) << 16 | HasBit(rows2, bit) << 32 | HasBit(rows3, bit) << 48;
                }
            }
        }
    }

    /// <summary>A bit for each of the eight values that is not <paramref name="blank"/>'s.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static uint NotBlank(Vector256<float> values, Vector256<float> blank) => (~Vector256.Equals(values, blank)).ExtractMostSignificantBits();

    /// <summary>A bit for each of the sixteen rows whose bits include <paramref name="bit"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static ulong HasBit(Vector256<ushort> rowBits, Vector256<ushort> bit) => (~Vector256.Equals(rowBits & bit, Vector256<ushort>.Zero)).ExtractMostSignificantBits();

    /// <summary>
    /// dW's columns [first, last): eight pixels by up to 128 outputs at a time, each pixel's outputs
    /// summed in registers over the rows inked there, then turned into dW's columns eight by eight.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit]
    static void WeightGradientColumns(float* x, int inputs, float background, float* dy, int outputs, float* backgroundTerm, ulong* inked, int words,
        float* dWeight, bool accumulate, int first, int last)
    {
        float* tile = stackalloc float[8 * WideBlock];
        float* turned = stackalloc float[8 * 8];
        bool wide = Wide;
        for (int j0 = first; j0 < last; j0 += 8)
        {
            int pixels = Math.Min(8, last - j0);
            for (int o0 = 0; o0 < outputs;)
            {
                int width = wide && outputs - o0 >= WideBlock ? WideBlock : OutputBlock;
                if (width == WideBlock)
                    for (int p = 0; p < pixels; p += 2)
                    {
                        int j = j0 + p;
                        SumPixelPair(x + j, inputs, background, dy + o0, outputs, backgroundTerm + o0, inked + (long)j * words, words, p + 1 < pixels, tile + p * width);
                    }
                else
                    for (int p = 0; p < pixels; p += 2)
                    {
                        int j = j0 + p;
                        SumPixelPairBlock(x + j, inputs, background, dy + o0, outputs, backgroundTerm + o0, inked + (long)j * words, words, p + 1 < pixels, tile + p * width);
                    }
                for (int q = 0; q < width; q += 8)
                {
                    float* target = dWeight + (long)(o0 + q) * inputs + j0;
                    if (pixels < 8)
                    {
                        for (int o = 0; o < 8; o++)
                            for (int p = 0; p < pixels; p++)
                                target[(long)o * inputs + p] = (accumulate ? target[(long)o * inputs + p] : 0) + tile[p * width + q + o];
                    }
                    else if (!accumulate) Gemm.Transpose8x8(tile + q, width, 8, target, inputs);
                    else
                    {
                        Gemm.Transpose8x8(tile + q, width, 8, turned, 8);
                        for (int o = 0; o < 8; o++)
                            (Vector256.Load(target + (long)o * inputs) + Vector256.Load(turned + o * 8)).Store(target + (long)o * inputs);
                    }
                }
                o0 += width;
            }
        }
    }

    /// <summary>Outputs a pair of pixels sums at once where there are that many: sixteen independent chains of FMAs, enough for two full-width units through their latency.</summary>
    const int WideBlock = 128;

    /// <summary>
    /// Two neighbouring pixels' 128 outputs (the second's only when <paramref name="second"/>): the
    /// background term plus, for each row inked at either, its differences times its dy. A row of dy
    /// loaded once serves both pixels (a digit's strokes are wider than a pixel): one pixel at a time,
    /// the loop's bookkeeping and loads cost more than its FMAs.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void SumPixelPair(float* column, int inputs, float background, float* dy, int outputs, float* backgroundTerm, ulong* inked, int words, bool second, float* sums)
    {
        Vector512<float> a0 = Vector512.Load(backgroundTerm), a1 = Vector512.Load(backgroundTerm + 16), a2 = Vector512.Load(backgroundTerm + 32), a3 = Vector512.Load(backgroundTerm + 48);
        Vector512<float> a4 = Vector512.Load(backgroundTerm + 64), a5 = Vector512.Load(backgroundTerm + 80), a6 = Vector512.Load(backgroundTerm + 96), a7 = Vector512.Load(backgroundTerm + 112);
        Vector512<float> b0 = a0, b1 = a1, b2 = a2, b3 = a3, b4 = a4, b5 = a5, b6 = a6, b7 = a7;
        for (int w = 0; w < words; w++)
            for (ulong bits = inked[w] | (second ? inked[words + w] : 0); bits != 0; bits &= bits - 1)
            {
                int r = w * 64 + BitOperations.TrailingZeroCount(bits);
                float* values = column + (long)r * inputs;
                // A pixel not inked in this row adds exact zeros.
                var d = Vector512.Create(values[0] - background);
                var e = Vector512.Create(second ? values[1] - background : 0);
                float* g = dy + (long)r * outputs;
                var g0 = Vector512.Load(g); var g1 = Vector512.Load(g + 16); var g2 = Vector512.Load(g + 32); var g3 = Vector512.Load(g + 48);
                a0 = Vector512.FusedMultiplyAdd(d, g0, a0); b0 = Vector512.FusedMultiplyAdd(e, g0, b0);
                a1 = Vector512.FusedMultiplyAdd(d, g1, a1); b1 = Vector512.FusedMultiplyAdd(e, g1, b1);
                a2 = Vector512.FusedMultiplyAdd(d, g2, a2); b2 = Vector512.FusedMultiplyAdd(e, g2, b2);
                a3 = Vector512.FusedMultiplyAdd(d, g3, a3); b3 = Vector512.FusedMultiplyAdd(e, g3, b3);
                g0 = Vector512.Load(g + 64); g1 = Vector512.Load(g + 80); g2 = Vector512.Load(g + 96); g3 = Vector512.Load(g + 112);
                a4 = Vector512.FusedMultiplyAdd(d, g0, a4); b4 = Vector512.FusedMultiplyAdd(e, g0, b4);
                a5 = Vector512.FusedMultiplyAdd(d, g1, a5); b5 = Vector512.FusedMultiplyAdd(e, g1, b5);
                a6 = Vector512.FusedMultiplyAdd(d, g2, a6); b6 = Vector512.FusedMultiplyAdd(e, g2, b6);
                a7 = Vector512.FusedMultiplyAdd(d, g3, a7); b7 = Vector512.FusedMultiplyAdd(e, g3, b7);
            }
        a0.Store(sums); a1.Store(sums + 16); a2.Store(sums + 32); a3.Store(sums + 48);
        a4.Store(sums + 64); a5.Store(sums + 80); a6.Store(sums + 96); a7.Store(sums + 112);
        sums += WideBlock;
        b0.Store(sums); b1.Store(sums + 16); b2.Store(sums + 32); b3.Store(sums + 48);
        b4.Store(sums + 64); b5.Store(sums + 80); b6.Store(sums + 96); b7.Store(sums + 112);
    }

    /// <summary>
    /// Two neighbouring pixels' block of 32 outputs on 256-bit vectors, as <see cref="SumPixelPair"/>
    /// sums 128 on 512-bit ones: eight chains of FMAs, and a row of dy loaded once for both pixels.
    /// The AVX2 path's every block, and the AVX-512 path's outputs left over past whole 128s.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void SumPixelPairBlock(float* column, int inputs, float background, float* dy, int outputs, float* backgroundTerm, ulong* inked, int words, bool second, float* sums)
    {
        Vector256<float> a0 = Vector256.Load(backgroundTerm), a1 = Vector256.Load(backgroundTerm + 8), a2 = Vector256.Load(backgroundTerm + 16), a3 = Vector256.Load(backgroundTerm + 24);
        Vector256<float> b0 = a0, b1 = a1, b2 = a2, b3 = a3;
        for (int w = 0; w < words; w++)
            for (ulong bits = inked[w] | (second ? inked[words + w] : 0); bits != 0; bits &= bits - 1)
            {
                int r = w * 64 + BitOperations.TrailingZeroCount(bits);
                float* values = column + (long)r * inputs;
                // A pixel not inked in this row adds exact zeros.
                var d = Vector256.Create(values[0] - background);
                var e = Vector256.Create(second ? values[1] - background : 0);
                float* g = dy + (long)r * outputs;
                var g0 = Vector256.Load(g); var g1 = Vector256.Load(g + 8); var g2 = Vector256.Load(g + 16); var g3 = Vector256.Load(g + 24);
                a0 = Vector256.FusedMultiplyAdd(d, g0, a0); b0 = Vector256.FusedMultiplyAdd(e, g0, b0);
                a1 = Vector256.FusedMultiplyAdd(d, g1, a1); b1 = Vector256.FusedMultiplyAdd(e, g1, b1);
                a2 = Vector256.FusedMultiplyAdd(d, g2, a2); b2 = Vector256.FusedMultiplyAdd(e, g2, b2);
                a3 = Vector256.FusedMultiplyAdd(d, g3, a3); b3 = Vector256.FusedMultiplyAdd(e, g3, b3);
            }
        a0.Store(sums); a1.Store(sums + 8); a2.Store(sums + 16); a3.Store(sums + 24);
        sums += OutputBlock;
        b0.Store(sums); b1.Store(sums + 8); b2.Store(sums + 16); b3.Store(sums + 24);
    }

    /// <summary>
    /// Up to this share of values other than the background, <see cref="Forward"/> and
    /// <see cref="WeightGradient"/> beat the dense product. With the ink scattered at random over 64
    /// rows of 784 (two Zen 4 threads; strokes, whose neighbouring pixels are inked together, do
    /// better): at 0.4 the forward pass took 69 µs against 103 and the weight gradient 57 against
    /// 71; at 0.5, 83 against 120 and 77 against 81; at 0.7 the weight gradient lost.
    /// </summary>
    public const double WorthwhileInk = 0.5;

    /// <summary>The fraction of x's values that are not the background: the kernels pay for those.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double InkedFraction(ReadOnlySpan<float> x, float background)
    {
        if (x.IsEmpty) return 0;
        long inked = 0;
        int i = 0;
        fixed (float* px = x)
        {
            if (Vector512.IsHardwareAccelerated)
                for (; i + 16 <= x.Length; i += 16)
                    inked += BitOperations.PopCount((~Vector512.Equals(Vector512.Load(px + i), Vector512.Create(background))).ExtractMostSignificantBits());
            for (; i + 8 <= x.Length; i += 8) inked += BitOperations.PopCount(NotBlank(Vector256.Load(px + i), Vector256.Create(background)));
            for (; i < x.Length; i++) if (px[i] != background) inked++;
        }
        return (double)inked / x.Length;
    }

    static NotSupportedException Unsupported() =>
        new($"SparseInput takes up to {MaximumInputs} inputs and outputs in blocks of {OutputBlock} on the AVX-512 and AVX2 paths, not the {Gemm.Path} path.");

    /// <summary>
    /// Each row minus the background into its stretch of <paramref name="differences"/>, and per pixel
    /// block a bit for every pixel some row needs: any of the four with <paramref name="together"/>,
    /// else any of the first two, then (<paramref name="blocks"/> further on) any of the last two.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Differences(float* x, int count, int inputs, float background, float* differences, ushort* needed, int blocks, bool together)
    {
        int stride = blocks * PixelBlock;
        // The last group's missing rows add zeros (the padding past a row's inputs is never written).
        if (count < Group) new Span<float>(differences + count * stride, (Group - count) * stride).Clear();
        for (int r = 0; r < count; r++)
        {
            float* row = x + (long)r * inputs, difference = differences + r * stride;
            int j = 0;
            if (Vector512.IsHardwareAccelerated)
                for (; j <= inputs - 16; j += 16) (Vector512.Load(row + j) - Vector512.Create(background)).Store(difference + j);
            for (; j <= inputs - 8; j += 8) (Vector256.Load(row + j) - Vector256.Create(background)).Store(difference + j);
            for (; j < inputs; j++) difference[j] = row[j] - background;
        }
        for (int b = 0; b < blocks; b++)
        {
            float* block = differences + b * PixelBlock;
            if (together)
            {
                // On 512-bit vectors, where the four rows go together.
                var any = Vector512.Load(block) | Vector512.Load(block + stride) | Vector512.Load(block + 2 * stride) | Vector512.Load(block + 3 * stride);
                needed[b] = (ushort)~Vector512.Equals(any.AsUInt32() & Vector512.Create(SignlessBits), Vector512<uint>.Zero).ExtractMostSignificantBits();
            }
            else (needed[b], needed[blocks + b]) = (NeededByPair(block, stride), NeededByPair(block + 2 * stride, stride));
        }
    }

    /// <summary>All of a float's bits but its sign: -0 differs from 0 only there, and adds an exact zero too.</summary>
    const uint SignlessBits = 0x7FFF_FFFF;

    /// <summary>A bit for each of the sixteen pixels whose difference is not zero in either of two rows, <paramref name="stride"/> apart.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static ushort NeededByPair(float* differences, int stride)
    {
        var low = Vector256.Load(differences) | Vector256.Load(differences + stride);
        var high = Vector256.Load(differences + 8) | Vector256.Load(differences + stride + 8);
        var mask = Vector256.Create(SignlessBits);
        return (ushort)~(Vector256.Equals(low.AsUInt32() & mask, Vector256<uint>.Zero).ExtractMostSignificantBits()
            | Vector256.Equals(high.AsUInt32() & mask, Vector256<uint>.Zero).ExtractMostSignificantBits() << 8);
    }

    /// <summary>One block of 32 outputs for up to four rows: every needed row of Wᵀ loaded once, multiplied by each row's difference.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void SumBlock(float* differences, ushort* needed, int blocks, float* panel, int outputs, float* start, float* y, int count, bool relu)
    {
        int stride = blocks * PixelBlock;
        float* d0 = differences, d1 = differences + stride, d2 = differences + 2 * stride, d3 = differences + 3 * stride;
        Vector512<float> a0 = Vector512.Load(start), b0 = Vector512.Load(start + 16);
        Vector512<float> a1 = a0, b1 = b0, a2 = a0, b2 = b0, a3 = a0, b3 = b0;
        for (int block = 0; block < blocks; block++)
        {
            uint bits = needed[block];
            while (bits != 0)
            {
                int j = block * PixelBlock + BitOperations.TrailingZeroCount(bits);
                bits &= bits - 1;
                float* w = panel + j * OutputBlock;
                Vector512<float> low = Vector512.Load(w), high = Vector512.Load(w + 16);
                var s = Vector512.Create(d0[j]);
                a0 = Vector512.FusedMultiplyAdd(s, low, a0); b0 = Vector512.FusedMultiplyAdd(s, high, b0);
                s = Vector512.Create(d1[j]);
                a1 = Vector512.FusedMultiplyAdd(s, low, a1); b1 = Vector512.FusedMultiplyAdd(s, high, b1);
                s = Vector512.Create(d2[j]);
                a2 = Vector512.FusedMultiplyAdd(s, low, a2); b2 = Vector512.FusedMultiplyAdd(s, high, b2);
                s = Vector512.Create(d3[j]);
                a3 = Vector512.FusedMultiplyAdd(s, low, a3); b3 = Vector512.FusedMultiplyAdd(s, high, b3);
            }
        }
        if (relu)
        {
            (a0, b0, a1, b1) = (Vector512.Max(a0, Vector512<float>.Zero), Vector512.Max(b0, Vector512<float>.Zero), Vector512.Max(a1, Vector512<float>.Zero), Vector512.Max(b1, Vector512<float>.Zero));
            (a2, b2, a3, b3) = (Vector512.Max(a2, Vector512<float>.Zero), Vector512.Max(b2, Vector512<float>.Zero), Vector512.Max(a3, Vector512<float>.Zero), Vector512.Max(b3, Vector512<float>.Zero));
        }
        a0.Store(y); b0.Store(y + 16);
        if (count > 1) { a1.Store(y + outputs); b1.Store(y + outputs + 16); }
        if (count > 2) { a2.Store(y + 2 * outputs); b2.Store(y + 2 * outputs + 16); }
        if (count > 3) { a3.Store(y + 3 * outputs); b3.Store(y + 3 * outputs + 16); }
    }

    /// <summary>
    /// <see cref="SumBlock"/> on 256-bit vectors, for two rows (<paramref name="count"/> of them
    /// real) and the pixels either needs: eight accumulators and the loads fit AVX2's sixteen
    /// registers, where four rows would need all sixteen for their sums. Two rows need fewer pixels
    /// than four, and each needed row of Wᵀ still serves eight FMAs for its six loads.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void SumRowPair(float* differences, ushort* needed, int blocks, float* panel, int outputs, float* start, float* y, int count, bool relu)
    {
        float* d0 = differences, d1 = differences + blocks * PixelBlock;
        Vector256<float> a0 = Vector256.Load(start), a1 = Vector256.Load(start + 8), a2 = Vector256.Load(start + 16), a3 = Vector256.Load(start + 24);
        Vector256<float> b0 = a0, b1 = a1, b2 = a2, b3 = a3;
        for (int block = 0; block < blocks; block++)
        {
            uint bits = needed[block];
            while (bits != 0)
            {
                int j = block * PixelBlock + BitOperations.TrailingZeroCount(bits);
                bits &= bits - 1;
                float* w = panel + j * OutputBlock;
                Vector256<float> s = Vector256.Create(d0[j]), t = Vector256.Create(d1[j]);
                var v = Vector256.Load(w);
                a0 = Vector256.FusedMultiplyAdd(s, v, a0); b0 = Vector256.FusedMultiplyAdd(t, v, b0);
                v = Vector256.Load(w + 8);
                a1 = Vector256.FusedMultiplyAdd(s, v, a1); b1 = Vector256.FusedMultiplyAdd(t, v, b1);
                v = Vector256.Load(w + 16);
                a2 = Vector256.FusedMultiplyAdd(s, v, a2); b2 = Vector256.FusedMultiplyAdd(t, v, b2);
                v = Vector256.Load(w + 24);
                a3 = Vector256.FusedMultiplyAdd(s, v, a3); b3 = Vector256.FusedMultiplyAdd(t, v, b3);
            }
        }
        if (relu)
        {
            (a0, a1, a2, a3) = (Vector256.Max(a0, Vector256<float>.Zero), Vector256.Max(a1, Vector256<float>.Zero), Vector256.Max(a2, Vector256<float>.Zero), Vector256.Max(a3, Vector256<float>.Zero));
            (b0, b1, b2, b3) = (Vector256.Max(b0, Vector256<float>.Zero), Vector256.Max(b1, Vector256<float>.Zero), Vector256.Max(b2, Vector256<float>.Zero), Vector256.Max(b3, Vector256<float>.Zero));
        }
        a0.Store(y); a1.Store(y + 8); a2.Store(y + 16); a3.Store(y + 24);
        if (count > 1) { b0.Store(y + outputs); b1.Store(y + outputs + 8); b2.Store(y + outputs + 16); b3.Store(y + outputs + 24); }
    }
}
