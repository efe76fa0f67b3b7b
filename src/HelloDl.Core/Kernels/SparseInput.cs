using System.Numerics;
using System.Numerics.Tensors;
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
/// peak (build.ps1 Bench -Section kernels). Training keeps the product: its weights change every
/// step, and Wᵀ would have to be made again each time.
/// </summary>
public static unsafe class SparseInput
{
    /// <summary>Outputs per pass: two 512-bit vectors, for each of the four rows (eight accumulators).</summary>
    public const int OutputBlock = 32;
    const int Group = 4;
    const int PixelBlock = 16;
    /// <summary>The rows' differences from the background are kept on the stack, four rows of them.</summary>
    const int MaximumInputs = 2048;

    /// <summary>Whether this machine and these sizes can take the kernel: 512-bit vectors, whole output blocks.</summary>
    public static bool Supports(int inputs, int outputs) =>
        Vector512.IsHardwareAccelerated && outputs > 0 && outputs % OutputBlock == 0 && inputs is > 0 and <= MaximumInputs;

    /// <summary>
    /// From W [outputs, inputs] and b [outputs]: Wᵀ [inputs, outputs] and the start of every row,
    /// b + background · Σⱼ W[:, j].
    /// </summary>
    public static void Prepare(ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, int outputs, int inputs, float background,
        Span<float> transposed, Span<float> start)
    {
        if (weight.Length < outputs * inputs || bias.Length < outputs || transposed.Length < outputs * inputs || start.Length < outputs)
            throw new ArgumentException("The buffers are smaller than the sizes given.");
        for (int o = 0; o < outputs; o++) start[o] = bias[o] + background * TensorPrimitives.Sum(weight.Slice(o * inputs, inputs));
        // A row of Wᵀ at a time: its reads walk one cache line of each of W's rows, which stay in L1
        // for the next sixteen columns (written a column at a time, Wᵀ's rows were 512 bytes apart
        // and the copy took three times as long).
        for (int j = 0; j < inputs; j++)
        {
            var row = transposed.Slice(j * outputs, outputs);
            for (int o = 0; o < outputs; o++) row[o] = weight[o * inputs + j];
        }
    }

    /// <summary>
    /// y [rows, outputs] = x [rows, inputs] Wᵀ + b, from <see cref="Prepare"/>'s buffers; with
    /// <paramref name="relu"/>, max(0, ·). Needs <see cref="Supports"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit]
    public static void Multiply(ReadOnlySpan<float> x, int rows, int inputs, float background,
        ReadOnlySpan<float> transposed, ReadOnlySpan<float> start, Span<float> y, int outputs, bool relu)
    {
        if (!Supports(inputs, outputs)) throw new NotSupportedException($"SparseInput takes up to {MaximumInputs} inputs and outputs in blocks of {OutputBlock} on machines with 512-bit vectors.");
        if (x.Length < rows * inputs || transposed.Length < inputs * outputs || start.Length < outputs || y.Length < rows * outputs)
            throw new ArgumentException("The buffers are smaller than the sizes given.");
        int blocks = (inputs + PixelBlock - 1) / PixelBlock;
        // The four rows' differences, padded to whole pixel blocks with zeros; which pixels any of them needs.
        float* differences = stackalloc float[Group * blocks * PixelBlock];
        new Span<float>(differences, Group * blocks * PixelBlock).Clear();
        ushort* needed = stackalloc ushort[blocks];
        fixed (float* px = x, pw = transposed, ps = start, py = y)
        {
            for (int first = 0; first < rows; first += Group)
            {
                int count = Math.Min(Group, rows - first);
                Differences(px + (long)first * inputs, count, inputs, background, differences, needed, blocks);
                for (int column = 0; column < outputs; column += OutputBlock)
                    SumBlock(differences, needed, blocks, pw + column, outputs, ps + column, py + (long)first * outputs + column, count, relu);
            }
        }
    }

    /// <summary>Each row minus the background into its stretch of <paramref name="differences"/>, and per pixel block a bit for every pixel some row needs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Differences(float* x, int count, int inputs, float background, float* differences, ushort* needed, int blocks)
    {
        int stride = blocks * PixelBlock;
        // The last group's missing rows add zeros (the padding past a row's inputs is never written).
        if (count < Group) new Span<float>(differences + count * stride, (Group - count) * stride).Clear();
        for (int r = 0; r < count; r++)
        {
            float* row = x + (long)r * inputs, difference = differences + r * stride;
            int j = 0;
            for (; j <= inputs - PixelBlock; j += PixelBlock)
                (Vector512.Load(row + j) - Vector512.Create(background)).Store(difference + j);
            for (; j < inputs; j++) difference[j] = row[j] - background;
        }
        for (int b = 0; b < blocks; b++)
        {
            int j = b * PixelBlock;
            var any = Vector512.Load(differences + j) | Vector512.Load(differences + stride + j)
                | Vector512.Load(differences + 2 * stride + j) | Vector512.Load(differences + 3 * stride + j);
            // -0 differs from 0 only in its sign bit, and adds an exact zero too.
            needed[b] = (ushort)~Vector512.Equals(any.AsUInt32() & Vector512.Create(0x7FFF_FFFFu), Vector512<uint>.Zero).ExtractMostSignificantBits();
        }
    }

    /// <summary>One block of 32 outputs for up to four rows: every needed row of Wᵀ loaded once, multiplied by each row's difference.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void SumBlock(float* differences, ushort* needed, int blocks, float* transposed, int outputs, float* start, float* y, int count, bool relu)
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
                float* w = transposed + (long)j * outputs;
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
}
