using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace HelloDl.Kernels;

/// <summary>Which SIMD width the matrix multiply uses.</summary>
public enum SimdPath
{
    /// <summary>Vector512 with AVX-512 FMA: 6x32 register tile.</summary>
    Avx512,
    /// <summary>Vector256 with FMA (AVX2 machines): 6x16 register tile.</summary>
    Avx2,
    /// <summary>Portable Vector256 arithmetic, no FMA instruction (other CPUs).</summary>
    Portable,
}

/// <summary>
/// Single-precision matrix multiply C = op(A) * op(B) (+ C), row-major, in the BLIS style: B is
/// packed into panels of NR columns and A into panels of MR rows, per block of KC along the
/// shared dimension, and a register-blocked micro-kernel multiplies one MR x NR tile with FMA.
/// Threads split the output into strips of whole panels; each output element is computed by one
/// thread in a fixed order, so results do not depend on the thread count.
/// </summary>
public static unsafe class Gemm
{
    const int MR = 6;
    const int KC = 256;   // a B micro-panel of KC x 32 floats is 32 KB: it stays in L1
    const int MC = 96;    // packed A block: 96 KB, in L2
    const int NC = 512;   // packed B block: 512 KB, in L2

    /// <summary>The SIMD path in use; tests set it to compare paths.</summary>
    public static SimdPath Path { get; set; } = Best;

    public static SimdPath Best =>
        Avx512F.IsSupported ? SimdPath.Avx512 : Fma.IsSupported && Avx2.IsSupported ? SimdPath.Avx2 : SimdPath.Portable;

    /// <summary>Floats per register of the current path.</summary>
    public static int Lanes => Path == SimdPath.Avx512 ? 16 : 8;

    [ThreadStatic] static float[]? _packA;
    [ThreadStatic] static float[]? _packB;

    /// <summary>
    /// C[m,n] = op(A) * op(B), or C += op(A) * op(B) when <paramref name="accumulate"/>.
    /// op(A) is m x k: A is [m,k], or [k,m] when <paramref name="transA"/>; op(B) is k x n: B is
    /// [k,n], or [n,k] when <paramref name="transB"/>.
    /// </summary>
    public static void Multiply(ReadOnlySpan<float> a, bool transA, ReadOnlySpan<float> b, bool transB,
        Span<float> c, int m, int n, int k, bool accumulate = false)
    {
        if (a.Length < (long)m * k || b.Length < (long)k * n || c.Length < (long)m * n)
            throw new ArgumentException($"Buffers too small for a {m}x{k} by {k}x{n} product.");
        if (m == 0 || n == 0) return;
        if (k == 0)
        {
            if (!accumulate) c[..(m * n)].Clear();
            return;
        }
        fixed (float* pa = a, pb = b, pc = c)
        {
            var job = new Job(pa, transA, pb, transB, pc, m, n, k, accumulate, Path);
            // Split along the longer side of the output, in whole panels.
            int nr = 2 * Lanes;
            int mPanels = (m + MR - 1) / MR, nPanels = (n + nr - 1) / nr;
            bool splitColumns = nPanels >= mPanels || nPanels >= Parallelism.MaxThreads;
            int panels = splitColumns ? nPanels : mPanels;
            int pieces = Math.Min(Parallelism.MaxThreads, panels);
            long work = (long)m * n * k;
            if (Parallelism.WouldSplit(pieces, work)) RunSplit(job, pieces, panels, splitColumns, nr, m, n, work);
            else job.Run(0, m, 0, n);   // e.g. per-image products inside a parallel convolution: no closure, no allocation
        }
    }

    static void RunSplit(Job job, int pieces, int panels, bool splitColumns, int nr, int m, int n, long work) =>
        Parallelism.For(pieces, work, piece =>
        {
            int first = panels * piece / pieces, last = panels * (piece + 1) / pieces;
            if (splitColumns) job.Run(0, m, first * nr, Math.Min(n, last * nr));
            else job.Run(first * MR, Math.Min(m, last * MR), 0, n);
        });

    readonly struct Job
    {
        readonly float* _a, _b, _c;
        readonly bool _transA, _transB, _accumulate;
        readonly int _m, _n, _k;
        readonly SimdPath _path;

        public Job(float* a, bool transA, float* b, bool transB, float* c, int m, int n, int k, bool accumulate, SimdPath path)
        {
            _a = a; _transA = transA; _b = b; _transB = transB; _c = c;
            _m = m; _n = n; _k = k; _accumulate = accumulate; _path = path;
        }

        /// <summary>
        /// Computes the output block rows [i0,i1) x columns [j0,j1) in BLIS order: column blocks of
        /// NC, K blocks of KC (packed B block in L2), row blocks of MC (packed A block), then every
        /// B micro-panel (kept in L1) against every A micro-panel.
        /// </summary>
        public void Run(int i0, int i1, int j0, int j1)
        {
            int nr = _path == SimdPath.Avx512 ? 32 : 16;
            var packA = Grow(ref _packA, MC * KC);
            var packB = Grow(ref _packB, NC * KC);
            fixed (float* pA = packA, pB = packB)
            {
                for (int jc = j0; jc < j1; jc += NC)
                {
                    int nc = Math.Min(NC, j1 - jc);
                    // K blocks of equal size (288 = 2 x 144, not 256 + 32): no short block that reloads C for little work.
                    int kBlocks = (_k + KC - 1) / KC, kcEven = (_k + kBlocks - 1) / kBlocks;
                    for (int p0 = 0; p0 < _k; p0 += kcEven)
                    {
                        int kc = Math.Min(kcEven, _k - p0);
                        bool add = _accumulate || p0 > 0;
                        PackB(pB, p0, kc, jc, nc, nr);
                        for (int ic = i0; ic < i1; ic += MC)
                        {
                            int mc = Math.Min(MC, i1 - ic);
                            PackA(pA, p0, kc, ic, mc);
                            for (int jr = 0; jr < nc; jr += nr)
                            {
                                int ncols = Math.Min(nr, nc - jr);
                                float* tileB = pB + jr * kc;
                                for (int ir = 0; ir < mc; ir += MR)
                                {
                                    int mr = Math.Min(MR, mc - ir);
                                    float* tileA = pA + ir * kc;
                                    float* dst = _c + (long)(ic + ir) * _n + jc + jr;
                                    if (_path == SimdPath.Avx512) Kernel512(tileA, tileB, kc, dst, _n, mr, ncols, add);
                                    else Kernel256(tileA, tileB, kc, dst, _n, mr, ncols, add, _path == SimdPath.Avx2);
                                }
                            }
                        }
                    }
                }
            }
        }

        /// <summary>Packs op(A)[i0.., p0..p0+kc) as MR-row panels, k-major, zero-padded.</summary>
        void PackA(float* dst, int p0, int kc, int i0, int rows)
        {
            for (int r0 = 0; r0 < rows; r0 += MR, dst += MR * kc)
            {
                int mr = Math.Min(MR, rows - r0);
                if (mr < MR) new Span<float>(dst, MR * kc).Clear();
                for (int r = 0; r < mr; r++)
                {
                    long row = i0 + r0 + r;
                    float* target = dst + r;
                    if (_transA)
                    {
                        float* source = _a + (long)p0 * _m + row;
                        for (int p = 0; p < kc; p++) target[p * MR] = source[(long)p * _m];
                    }
                    else
                    {
                        // One contiguous row of A, scattered into the panel.
                        float* source = _a + row * _k + p0;
                        for (int p = 0; p < kc; p++) target[p * MR] = source[p];
                    }
                }
            }
        }

        /// <summary>Packs op(B)[p0..p0+kc, j0..j0+columns) as nr-column panels, k-major, zero-padded.</summary>
        void PackB(float* dst, int p0, int kc, int j0, int columns, int nr)
        {
            for (int c0 = 0; c0 < columns; c0 += nr, dst += nr * kc)
            {
                int w = Math.Min(nr, columns - c0);
                if (w < nr) new Span<float>(dst, nr * kc).Clear();
                if (!_transB)
                {
                    for (int p = 0; p < kc; p++)
                        Buffer.MemoryCopy(_b + (long)(p0 + p) * _n + j0 + c0, dst + p * nr, w * sizeof(float), w * sizeof(float));
                }
                else
                {
                    // Each column of op(B) is a contiguous row of B.
                    for (int j = 0; j < w; j++)
                    {
                        float* source = _b + (long)(j0 + c0 + j) * _k + p0;
                        float* target = dst + j;
                        for (int p = 0; p < kc; p++) target[p * nr] = source[p];
                    }
                }
            }
        }
    }

    static float[] Grow(ref float[]? buffer, int length)
    {
        if (buffer is null || buffer.Length < length) buffer = new float[Math.Max(length, 64 * 1024)];
        return buffer;
    }

    /// <summary>6 x 32 tile with twelve 512-bit accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Kernel512(float* a, float* b, int kc, float* c, int ldc, int mr, int nc, bool add)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
            c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + 16);
            var x = Vector512.Create(a[0]); c00 = Avx512F.FusedMultiplyAdd(x, b0, c00); c01 = Avx512F.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(a[1]); c10 = Avx512F.FusedMultiplyAdd(x, b0, c10); c11 = Avx512F.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(a[2]); c20 = Avx512F.FusedMultiplyAdd(x, b0, c20); c21 = Avx512F.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(a[3]); c30 = Avx512F.FusedMultiplyAdd(x, b0, c30); c31 = Avx512F.FusedMultiplyAdd(x, b1, c31);
            x = Vector512.Create(a[4]); c40 = Avx512F.FusedMultiplyAdd(x, b0, c40); c41 = Avx512F.FusedMultiplyAdd(x, b1, c41);
            x = Vector512.Create(a[5]); c50 = Avx512F.FusedMultiplyAdd(x, b0, c50); c51 = Avx512F.FusedMultiplyAdd(x, b1, c51);
            a += MR;
            b += 32;
        }
        if (mr == MR && nc == 32)
        {
            Store512(c, c00, c01, add); Store512(c + ldc, c10, c11, add); Store512(c + 2 * ldc, c20, c21, add);
            Store512(c + 3 * ldc, c30, c31, add); Store512(c + 4 * ldc, c40, c41, add); Store512(c + 5 * ldc, c50, c51, add);
            return;
        }
        float* tile = stackalloc float[MR * 32];
        c00.Store(tile); c01.Store(tile + 16); c10.Store(tile + 32); c11.Store(tile + 48);
        c20.Store(tile + 64); c21.Store(tile + 80); c30.Store(tile + 96); c31.Store(tile + 112);
        c40.Store(tile + 128); c41.Store(tile + 144); c50.Store(tile + 160); c51.Store(tile + 176);
        CopyEdge(tile, 32, c, ldc, mr, nc, add);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Store512(float* c, Vector512<float> v0, Vector512<float> v1, bool add)
    {
        if (add)
        {
            v0 += Vector512.Load(c);
            v1 += Vector512.Load(c + 16);
        }
        v0.Store(c);
        v1.Store(c + 16);
    }

    /// <summary>6 x 16 tile with twelve 256-bit accumulators; FMA instruction when available.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Kernel256(float* a, float* b, int kc, float* c, int ldc, int mr, int nc, bool add, bool fma)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
            c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        if (fma)
        {
            for (int p = 0; p < kc; p++)
            {
                var b0 = Vector256.Load(b);
                var b1 = Vector256.Load(b + 8);
                var x = Vector256.Create(a[0]); c00 = Fma.MultiplyAdd(x, b0, c00); c01 = Fma.MultiplyAdd(x, b1, c01);
                x = Vector256.Create(a[1]); c10 = Fma.MultiplyAdd(x, b0, c10); c11 = Fma.MultiplyAdd(x, b1, c11);
                x = Vector256.Create(a[2]); c20 = Fma.MultiplyAdd(x, b0, c20); c21 = Fma.MultiplyAdd(x, b1, c21);
                x = Vector256.Create(a[3]); c30 = Fma.MultiplyAdd(x, b0, c30); c31 = Fma.MultiplyAdd(x, b1, c31);
                x = Vector256.Create(a[4]); c40 = Fma.MultiplyAdd(x, b0, c40); c41 = Fma.MultiplyAdd(x, b1, c41);
                x = Vector256.Create(a[5]); c50 = Fma.MultiplyAdd(x, b0, c50); c51 = Fma.MultiplyAdd(x, b1, c51);
                a += MR;
                b += 16;
            }
        }
        else
        {
            for (int p = 0; p < kc; p++)
            {
                var b0 = Vector256.Load(b);
                var b1 = Vector256.Load(b + 8);
                var x = Vector256.Create(a[0]); c00 += x * b0; c01 += x * b1;
                x = Vector256.Create(a[1]); c10 += x * b0; c11 += x * b1;
                x = Vector256.Create(a[2]); c20 += x * b0; c21 += x * b1;
                x = Vector256.Create(a[3]); c30 += x * b0; c31 += x * b1;
                x = Vector256.Create(a[4]); c40 += x * b0; c41 += x * b1;
                x = Vector256.Create(a[5]); c50 += x * b0; c51 += x * b1;
                a += MR;
                b += 16;
            }
        }
        float* tile = stackalloc float[MR * 16];
        c00.Store(tile); c01.Store(tile + 8); c10.Store(tile + 16); c11.Store(tile + 24);
        c20.Store(tile + 32); c21.Store(tile + 40); c30.Store(tile + 48); c31.Store(tile + 56);
        c40.Store(tile + 64); c41.Store(tile + 72); c50.Store(tile + 80); c51.Store(tile + 88);
        CopyEdge(tile, 16, c, ldc, mr, nc, add);
    }

    static void CopyEdge(float* tile, int nr, float* c, int ldc, int mr, int nc, bool add)
    {
        for (int r = 0; r < mr; r++)
        {
            float* src = tile + r * nr, dst = c + (long)r * ldc;
            if (add) for (int j = 0; j < nc; j++) dst[j] += src[j];
            else for (int j = 0; j < nc; j++) dst[j] = src[j];
        }
    }
}
