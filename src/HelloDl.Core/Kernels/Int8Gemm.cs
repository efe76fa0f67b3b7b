using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace HelloDl.Kernels;

/// <summary>The integer dot-product instructions the int8 kernels can use, slowest first.</summary>
public enum Int8Path
{
    Scalar,
    /// <summary>vpmaddubsw + vpmaddwd on 256 bits: any AVX2 CPU.</summary>
    Avx2,
    /// <summary>vpmaddubsw + vpmaddwd on 512 bits (AVX-512 BW): Zen 4, Skylake-SP and later Xeons.</summary>
    Avx512BW,
    /// <summary>vpdpbusd on 256 bits (AVX-VNNI): Sapphire Rapids, Alder Lake, Zen 5. .NET 10 has no
    /// AVX-512 VNNI intrinsics (AvxVnni.V512 comes with .NET 11), so this is the only VNNI form here.</summary>
    AvxVnni,
}

/// <summary>
/// Weights [N, K] of signed 8-bit integers in the kernels' layout: blocks of 16 output columns,
/// within a block the K dimension in groups of 4, each group 16 lanes × 4 bytes (64 bytes, one
/// 512-bit or two 256-bit registers). K is padded to a multiple of 4 and N to a multiple of 16
/// with zero weights, which add nothing.
/// </summary>
public sealed class PackedInt8Weights
{
    internal PackedInt8Weights(int n, int k, byte[] data, int[] rowSums) { N = n; K = k; Data = data; _rowSums = rowSums; }

    readonly int[] _rowSums;

    public int N { get; }
    public int K { get; }
    public int PaddedK => (K + 3) & ~3;
    public int PaddedN => (N + 15) & ~15;
    public int Blocks => PaddedN / 16;
    internal byte[] Data { get; }
    /// <summary>Σ_k w[n, k] per output column (PaddedN of them), for the activations' zero point.</summary>
    public ReadOnlySpan<int> RowSums => _rowSums;
}

/// <summary>
/// C = A · Wᵀ in integers: A [M, K] unsigned activations of at most <see cref="MaxActivation"/>,
/// W [N, K] signed weights of at most ±127, C [M, N] int32. Activations stay below 128 so that
/// vpmaddubsw's pairwise 16-bit sums (at most 2 · 127 · 127 = 32,258) never saturate: every path
/// gives the exact integer result, so a quantised model answers the same on every CPU.
/// Its methods are compiled fully optimised at once (and ahead, by <see cref="KernelWarmup"/>): a
/// quantised MLP's whole test-set pass is over before tiered compilation would promote them.
/// </summary>
public static unsafe class Int8Gemm
{
    /// <summary>The largest activation code: 7 bits, as FBGEMM's reduce_range does for the same reason.</summary>
    public const int MaxActivation = 127;
    /// <summary>Rows per tile: callers pad M to a multiple of this with zero rows.</summary>
    public const int RowTile = 4;

    public static Int8Path Best { get; } =
        AvxVnni.IsSupported ? Int8Path.AvxVnni : Avx512BW.IsSupported ? Int8Path.Avx512BW : Avx2.IsSupported ? Int8Path.Avx2 : Int8Path.Scalar;

    static Int8Path _path = Best;

    /// <summary>The path in use (the best the CPU has unless a test or benchmark sets another).</summary>
    /// <exception cref="PlatformNotSupportedException">This CPU lacks the path's instructions.</exception>
    public static Int8Path Path
    {
        get => _path;
        set => _path = IsSupported(value) ? value : throw new PlatformNotSupportedException($"This CPU cannot run the {value} int8 kernel.");
    }

    public static bool IsSupported(Int8Path path) => path switch
    {
        Int8Path.Scalar => true,
        Int8Path.Avx2 => Avx2.IsSupported,
        Int8Path.Avx512BW => Avx512BW.IsSupported,
        Int8Path.AvxVnni => AvxVnni.IsSupported,
        _ => false,
    };

    /// <summary>Packs row-major weights [n, k] (each within ±127).</summary>
    public static PackedInt8Weights Pack(ReadOnlySpan<sbyte> weights, int n, int k)
    {
        if (weights.Length != n * k) throw new ArgumentException($"{n} x {k} weights are needed, not {weights.Length}.", nameof(weights));
        int paddedK = (k + 3) & ~3, blocks = (n + 15) / 16;
        var data = new byte[blocks * 16 * paddedK];
        var sums = new int[blocks * 16];
        for (int j = 0; j < n; j++)
        {
            int block = j / 16, lane = j % 16;
            for (int kk = 0; kk < k; kk++)
            {
                sbyte w = weights[j * k + kk];
                if (w == sbyte.MinValue) throw new ArgumentException("Weights must lie within ±127.", nameof(weights));
                data[(block * (paddedK / 4) + kk / 4) * 64 + lane * 4 + kk % 4] = (byte)w;
                sums[j] += w;
            }
        }
        return new PackedInt8Weights(n, k, data, sums);
    }

    /// <summary>
    /// c [m, w.PaddedN] = a · wᵀ, where a holds m rows of w.PaddedK bytes (the bytes past K may hold
    /// anything below 256: they meet zero weights) and m is a
    /// multiple of <see cref="RowTile"/>. Single-threaded: callers run whole images on each thread.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Multiply(byte* a, int m, PackedInt8Weights w, int* c)
    {
        if (m % RowTile != 0) throw new ArgumentException($"Rows must come in multiples of {RowTile}.", nameof(m));
        fixed (byte* packed = w.Data)
        {
            switch (_path)
            {
                case Int8Path.AvxVnni: Tiles256<VnniDot>(a, m, w, (sbyte*)packed, c); break;
                case Int8Path.Avx512BW: Tiles512(a, m, w, (sbyte*)packed, c); break;
                case Int8Path.Avx2: Tiles256<MaddDot>(a, m, w, (sbyte*)packed, c); break;
                default: Scalar(a, m, w, (sbyte*)packed, c); break;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Scalar(byte* a, int m, PackedInt8Weights w, sbyte* packed, int* c)
    {
        int kp = w.PaddedK, np = w.PaddedN;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < np; j++)
            {
                sbyte* block = packed + j / 16 * 16 * kp + j % 16 * 4;
                int sum = 0;
                for (int q = 0; q < kp / 4; q++)
                    for (int t = 0; t < 4; t++) sum += a[i * kp + q * 4 + t] * block[q * 64 + t];
                c[i * np + j] = sum;
            }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<int> Dot512(Vector512<int> acc, Vector512<byte> a, Vector512<sbyte> b, Vector512<short> ones) =>
        Avx512F.Add(acc, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(a, b), ones));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<byte> Broadcast512(byte* a) => Vector512.Create(*(int*)a).AsByte();

    /// <summary>4 rows × 64 columns per tile (16 accumulators), then 4 × 16 for the last blocks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Tiles512(byte* a, int m, PackedInt8Weights w, sbyte* packed, int* c)
    {
        int kp = w.PaddedK, quads = kp / 4, np = w.PaddedN, blockBytes = 16 * kp;
        var ones = Vector512.Create((short)1);
        int block = 0;
        for (; block + 4 <= w.Blocks; block += 4)
            for (int i = 0; i < m; i += RowTile)
            {
                byte* a0 = a + i * kp, a1 = a0 + kp, a2 = a1 + kp, a3 = a2 + kp;
                sbyte* b = packed + block * blockBytes;
                Vector512<int> c00 = default, c01 = default, c02 = default, c03 = default, c10 = default, c11 = default, c12 = default, c13 = default;
                Vector512<int> c20 = default, c21 = default, c22 = default, c23 = default, c30 = default, c31 = default, c32 = default, c33 = default;
                for (int q = 0; q < quads; q++, b += 64)
                {
                    var b0 = Vector512.Load(b); var b1 = Vector512.Load(b + blockBytes); var b2 = Vector512.Load(b + 2 * blockBytes); var b3 = Vector512.Load(b + 3 * blockBytes);
                    var x = Broadcast512(a0 + q * 4);
                    c00 = Dot512(c00, x, b0, ones); c01 = Dot512(c01, x, b1, ones); c02 = Dot512(c02, x, b2, ones); c03 = Dot512(c03, x, b3, ones);
                    x = Broadcast512(a1 + q * 4);
                    c10 = Dot512(c10, x, b0, ones); c11 = Dot512(c11, x, b1, ones); c12 = Dot512(c12, x, b2, ones); c13 = Dot512(c13, x, b3, ones);
                    x = Broadcast512(a2 + q * 4);
                    c20 = Dot512(c20, x, b0, ones); c21 = Dot512(c21, x, b1, ones); c22 = Dot512(c22, x, b2, ones); c23 = Dot512(c23, x, b3, ones);
                    x = Broadcast512(a3 + q * 4);
                    c30 = Dot512(c30, x, b0, ones); c31 = Dot512(c31, x, b1, ones); c32 = Dot512(c32, x, b2, ones); c33 = Dot512(c33, x, b3, ones);
                }
                int* r = c + i * np + block * 16;
                c00.Store(r); c01.Store(r + 16); c02.Store(r + 32); c03.Store(r + 48); r += np;
                c10.Store(r); c11.Store(r + 16); c12.Store(r + 32); c13.Store(r + 48); r += np;
                c20.Store(r); c21.Store(r + 16); c22.Store(r + 32); c23.Store(r + 48); r += np;
                c30.Store(r); c31.Store(r + 16); c32.Store(r + 32); c33.Store(r + 48);
            }
        for (; block < w.Blocks; block++)
            for (int i = 0; i < m; i += RowTile)
            {
                byte* a0 = a + i * kp;
                sbyte* b = packed + block * blockBytes;
                Vector512<int> c0 = default, c1 = default, c2 = default, c3 = default;
                for (int q = 0; q < quads; q++, b += 64)
                {
                    var b0 = Vector512.Load(b);
                    c0 = Dot512(c0, Broadcast512(a0 + q * 4), b0, ones);
                    c1 = Dot512(c1, Broadcast512(a0 + kp + q * 4), b0, ones);
                    c2 = Dot512(c2, Broadcast512(a0 + 2 * kp + q * 4), b0, ones);
                    c3 = Dot512(c3, Broadcast512(a0 + 3 * kp + q * 4), b0, ones);
                }
                int* r = c + i * np + block * 16;
                c0.Store(r); c1.Store(r + np); c2.Store(r + 2 * np); c3.Store(r + 3 * np);
            }
    }

    /// <summary>acc += four-byte dot products per lane; a struct type argument, so each path's loop is compiled apart.</summary>
    interface IDot256 { static abstract Vector256<int> Dot(Vector256<int> acc, Vector256<byte> a, Vector256<sbyte> b); }

    readonly struct VnniDot : IDot256
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Dot(Vector256<int> acc, Vector256<byte> a, Vector256<sbyte> b) => AvxVnni.MultiplyWideningAndAdd(acc, a, b);
    }

    readonly struct MaddDot : IDot256
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Dot(Vector256<int> acc, Vector256<byte> a, Vector256<sbyte> b) =>
            Avx2.Add(acc, Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(a, b), Vector256.Create((short)1)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<byte> Broadcast256(byte* a) => Vector256.Create(*(int*)a).AsByte();

    /// <summary>4 rows × 16 columns per tile (8 accumulators: 16 registers hold no more).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Tiles256<TDot>(byte* a, int m, PackedInt8Weights w, sbyte* packed, int* c) where TDot : struct, IDot256
    {
        int kp = w.PaddedK, quads = kp / 4, np = w.PaddedN, blockBytes = 16 * kp;
        for (int block = 0; block < w.Blocks; block++)
            for (int i = 0; i < m; i += RowTile)
            {
                byte* a0 = a + i * kp, a1 = a0 + kp, a2 = a1 + kp, a3 = a2 + kp;
                sbyte* b = packed + block * blockBytes;
                Vector256<int> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
                for (int q = 0; q < quads; q++, b += 64)
                {
                    var b0 = Vector256.Load(b); var b1 = Vector256.Load(b + 32);
                    var x = Broadcast256(a0 + q * 4);
                    c00 = TDot.Dot(c00, x, b0); c01 = TDot.Dot(c01, x, b1);
                    x = Broadcast256(a1 + q * 4);
                    c10 = TDot.Dot(c10, x, b0); c11 = TDot.Dot(c11, x, b1);
                    x = Broadcast256(a2 + q * 4);
                    c20 = TDot.Dot(c20, x, b0); c21 = TDot.Dot(c21, x, b1);
                    x = Broadcast256(a3 + q * 4);
                    c30 = TDot.Dot(c30, x, b0); c31 = TDot.Dot(c31, x, b1);
                }
                int* r = c + i * np + block * 16;
                c00.Store(r); c01.Store(r + 8); r += np;
                c10.Store(r); c11.Store(r + 8); r += np;
                c20.Store(r); c21.Store(r + 8); r += np;
                c30.Store(r); c31.Store(r + 8);
            }
    }
}
