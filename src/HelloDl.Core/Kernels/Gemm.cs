using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace HelloDl.Kernels;

/// <summary>Which SIMD width the matrix multiply uses.</summary>
public enum SimdPath
{
    /// <summary>Vector512 with AVX-512 FMA: 8x32 register tile.</summary>
    Avx512,
    /// <summary>Vector256 with FMA (AVX2 machines): 6x16 register tile.</summary>
    Avx2,
    /// <summary>Portable Vector256 arithmetic, no FMA instruction (other CPUs).</summary>
    Portable,
}

/// <summary>
/// Single-precision matrix multiply C = op(A) * op(B) (+ C), row-major, in the BLIS style: B is
/// packed into panels of NR columns and A into panels of MR rows, per block of KC along the
/// shared dimension, and a register-blocked micro-kernel multiplies one MR x NR tile with FMA
/// (8 x 32 with AVX-512, 6 x 16 on the 256-bit paths).
/// Threads split the output into strips of whole panels (the operand they all read is packed once,
/// ahead, by all of them); each output element is computed by one thread in a fixed order, so
/// results do not depend on the thread count.
/// </summary>
public static unsafe class Gemm
{
    /// <summary>Rows of the register tile on the current <see cref="Path"/> (A is packed in panels of as many rows).</summary>
    public static int TileRows => TileRowsOf(Path);

    /// <summary>
    /// 8 x 32 with AVX-512: sixteen accumulators of its 32 registers (at least two units x latency 4 for
    /// full-width FMA units, and eight loads for sixteen FMAs for split ones). 6 x 16 on the 256-bit paths:
    /// twelve of their 16 registers. Eight rows also divide the models' row counts (32 filters, 64
    /// images or channels) where six left a third of a tile's work wasted on an edge tile.
    /// </summary>
    public static int TileRowsOf(SimdPath path) => path == SimdPath.Avx512 ? Rows512 : Rows256;
    const int Rows512 = 8, Rows256 = 6;
    // Cache blocks from this machine's caches (KernelPlan): KC along the shared dimension, MC rows of A, NC columns of B.
    static readonly int KC = KernelPlan.Current.KBlock;
    static readonly int MC = KernelPlan.Current.RowBlock;
    static readonly int NC = KernelPlan.Current.ColumnBlock;

    /// <summary>The SIMD path in use; tests set it to compare paths. Only paths this CPU runs (<see cref="Best"/> and narrower) are taken.</summary>
    public static SimdPath Path
    {
        get => _path;
        set => _path = value >= Best && Enum.IsDefined(value) ? value
            : throw new ArgumentOutOfRangeException(nameof(value), value, $"This CPU runs the {Best} path and the narrower ones, not {value}.");
    }
    static SimdPath _path = Best;

    /// <summary>The widest path this CPU runs (<see cref="KernelPlan"/>).</summary>
    public static SimdPath Best => KernelPlan.Current.Path;

    [ThreadStatic] static float[]? _packA;
    [ThreadStatic] static float[]? _packB;
    [ThreadStatic] static float[]? _shared;

    /// <summary>Above this many floats the operand threads share is not packed ahead (each thread packs its blocks).</summary>
    const long MaximumSharedPack = 8L << 20;

    /// <summary>
    /// C[m,n] = op(A) * op(B), or C += op(A) * op(B) when <paramref name="accumulate"/>.
    /// op(A) is m x k: A is [m,k], or [k,m] when <paramref name="transA"/>; op(B) is k x n: B is
    /// [k,n], or [n,k] when <paramref name="transB"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
            Run(new Job(pa, transA, null, pb, transB, pc, m, n, k, accumulate, Path));
    }

    /// <summary>Floats <see cref="PackLeft"/> needs for an m x k left operand on the current <see cref="Path"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int PackedLeftLength(int m, int k)
    {
        int rows = TileRows;
        return (m + rows - 1) / rows * rows * k;
    }

    /// <summary>
    /// Packs op(A) (m x k) once into <paramref name="packed"/>, for many products with different
    /// right operands (a convolution's weights against each image's patches).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackLeft(ReadOnlySpan<float> a, bool transA, int m, int k, Span<float> packed)
    {
        if (a.Length < (long)m * k || packed.Length < PackedLeftLength(m, k))
            throw new ArgumentException($"Buffers too small to pack a {m}x{k} operand.");
        fixed (float* pa = a, pp = packed)
            new Job(pa, transA, null, null, false, null, m, 0, k, false, Path).PackWholeA(pp, 0, m);
    }

    /// <summary>Floats <see cref="PackRight"/> needs for a k x n right operand on the current <see cref="Path"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int PackedRightLength(int k, int n)
    {
        int width = PanelWidthOf(Path);
        return (n + width - 1) / width * width * k;
    }

    /// <summary>
    /// Packs op(B) (k x n) once into <paramref name="packed"/>, for many products with different left
    /// operands (Winograd's transformed filters against each group's output gradient). The panels are
    /// the current <see cref="Path"/>'s width: products with it must run on the same path.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackRight(ReadOnlySpan<float> b, bool transB, int k, int n, Span<float> packed)
    {
        if (b.Length < (long)k * n || packed.Length < PackedRightLength(k, n))
            throw new ArgumentException($"Buffers too small to pack a {k}x{n} operand.");
        fixed (float* pb = b, pp = packed)
            new Job(null, false, null, pb, transB, null, 0, n, k, false, Path).PackWholeB(pp, 0, n);
    }

    /// <summary>C = op(A) * B (or C += when accumulating) for a B packed by <see cref="PackRight"/> on the same <see cref="Path"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MultiplyPackedRight(ReadOnlySpan<float> a, bool transA, ReadOnlySpan<float> packedB, Span<float> c, int m, int n, int k, bool accumulate = false)
    {
        if (a.Length < (long)m * k || packedB.Length < PackedRightLength(k, n) || c.Length < (long)m * n)
            throw new ArgumentException($"Buffers too small for a {m}x{k} by {k}x{n} product.");
        if (m == 0 || n == 0 || k == 0)
        {
            if (!accumulate && m > 0 && n > 0) c[..(m * n)].Clear();
            return;
        }
        fixed (float* pa = a, pb = packedB, pc = c)
            Run(new Job(pa, transA, null, null, false, pc, m, n, k, accumulate, Path).WithPackedB(pb));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static int PanelWidthOf(SimdPath path) => path == SimdPath.Avx512 ? 32 : 16;

    /// <summary>Columns one register tile covers on the current <see cref="Path"/>: a product is best as wide as a multiple of it.</summary>
    public static int PanelWidth => PanelWidthOf(Path);

    /// <summary>C = A * op(B) (or C += when accumulating) for an A packed by <see cref="PackLeft"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MultiplyPacked(ReadOnlySpan<float> packedA, int m, int k, ReadOnlySpan<float> b, bool transB, Span<float> c, int n, bool accumulate = false)
    {
        if (packedA.Length < PackedLeftLength(m, k) || b.Length < (long)k * n || c.Length < (long)m * n)
            throw new ArgumentException($"Buffers too small for a {m}x{k} by {k}x{n} product.");
        if (m == 0 || n == 0 || k == 0)
        {
            if (!accumulate && m > 0 && n > 0) c[..(m * n)].Clear();
            return;
        }
        fixed (float* pa = packedA, pb = b, pc = c)
            Run(new Job(null, false, pa, pb, transB, pc, m, n, k, accumulate, Path));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Run(Job job)
    {
        // Split along the side with more panels, or along the columns when the threads can take equal
        // shares of them and read A where it lies: then each packs only its own panels of B, and no
        // operand is packed ahead in a shared buffer that every thread then reads (the MLP's first layer).
        // Otherwise the operand all threads read is packed once, ahead.
        int nr = job.PanelWidth, mr = job.TileRows, m = job.M, n = job.N, threads = Parallelism.MaxThreads;
        int mPanels = (m + mr - 1) / mr, nPanels = (n + nr - 1) / nr;
        bool splitColumns = nPanels >= mPanels
            || (nPanels >= threads && nPanels % threads == 0 && job.ReadsAInPlace(Math.Min(NC, n)));
        int panels = splitColumns ? nPanels : mPanels;
        int pieces = Math.Min(threads, panels);
        long work = (long)m * n * job.K;
        if (!Parallelism.WouldSplit(pieces, work))
        {
            job.Run(0, m, 0, n);   // e.g. per-image products inside a parallel convolution: no closure, no allocation
            return;
        }
        long sharedLength = splitColumns ? (long)mPanels * mr * job.K : (long)nPanels * nr * job.K;
        // Threads splitting the columns all read A, threads splitting the rows all read B: packed once
        // ahead, unless it is read where it lies.
        bool sharedIsReadInPlace = splitColumns ? job.ReadsAInPlace(Math.Min(NC, n)) : job.ReadsBInPlace;
        if (!(splitColumns ? job.HasPackedA : job.HasPackedB) && !sharedIsReadInPlace && sharedLength <= MaximumSharedPack)
        {
            var shared = Grow(ref _shared, (int)sharedLength);
            fixed (float* pShared = shared)
            {
                job = splitColumns ? job.WithPackedA(pShared) : job.WithPackedB(pShared);
                PackShared(job, splitColumns, splitColumns ? mPanels : nPanels, pShared, work);
                RunSplit(job, pieces, panels, splitColumns, nr, mr, m, n, work);
            }
        }
        else RunSplit(job, pieces, panels, splitColumns, nr, mr, m, n, work);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void PackShared(Job job, bool left, int panels, float* target, long work)
    {
        int pieces = Math.Min(Parallelism.MaxThreads, panels);
        int unit = left ? job.TileRows : job.PanelWidth, extent = left ? job.M : job.N;
        Parallelism.For(pieces, work, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (piece) =>
        {
            int first = panels * piece / pieces * unit, last = Math.Min(extent, panels * (piece + 1) / pieces * unit);
            if (left) job.PackWholeA(target, first, last);
            else job.PackWholeB(target, first, last);
        });
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void RunSplit(Job job, int pieces, int panels, bool splitColumns, int nr, int mr, int m, int n, long work) =>
        Parallelism.For(pieces, work, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (piece) =>
        {
            int first = panels * piece / pieces, last = panels * (piece + 1) / pieces;
            if (splitColumns) job.Run(0, m, first * nr, Math.Min(n, last * nr));
            else job.Run(first * mr, Math.Min(m, last * mr), 0, n);
        });

    /// <summary>
    /// One product. Operands are packed per block as the loops reach them, unless packed whole
    /// ahead: then block (p0, panel) of A sits at p0 · (padded m) + (first row) · kc, and likewise for B.
    /// </summary>
    readonly struct Job
    {
        readonly float* _a, _b, _c, _packedA, _packedB;
        readonly bool _transA, _transB, _accumulate;
        readonly int _m, _n, _k, _kcEven, _mr, _mc;
        readonly SimdPath _path;

        public Job(float* a, bool transA, float* packedA, float* b, bool transB, float* c, int m, int n, int k, bool accumulate, SimdPath path)
            : this(a, transA, packedA, b, transB, null, c, m, n, k, accumulate, path) { }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        Job(float* a, bool transA, float* packedA, float* b, bool transB, float* packedB, float* c, int m, int n, int k, bool accumulate, SimdPath path)
        {
            _a = a; _transA = transA; _packedA = packedA; _b = b; _transB = transB; _packedB = packedB; _c = c;
            _m = m; _n = n; _k = k; _accumulate = accumulate; _path = path;
            // K blocks of equal size (288 = 2 x 144, not 256 + 32): no short block that reloads C for little work.
            int kBlocks = Math.Max(1, (k + KC - 1) / KC);
            _kcEven = (k + kBlocks - 1) / kBlocks;
            _mr = TileRowsOf(path);
            // The plan's row block is whole tiles of its own path; a narrower path under test rounds it down to its own.
            _mc = MC / _mr * _mr;
        }

        public int M => _m;
        public int N => _n;
        public int K => _k;
        public bool HasPackedA => _packedA != null;
        public bool HasPackedB => _packedB != null;
        public int PanelWidth => PanelWidthOf(_path);
        public int TileRows => _mr;
        int PaddedM => (_m + _mr - 1) / _mr * _mr;
        int PaddedN => (_n + PanelWidth - 1) / PanelWidth * PanelWidth;

        /// <summary>Whether blocks of <paramref name="columns"/> columns read A where it lies (see <see cref="UnpackedAPanels"/>).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public bool ReadsAInPlace(int columns) => _packedA == null && !_transA && (_path is SimdPath.Avx512 or SimdPath.Avx2) && columns <= UnpackedAPanels * PanelWidth;

        /// <summary>Whether B's whole panels are read where they lie (see <see cref="UnpackedBRowTiles"/>).</summary>
        public bool ReadsBInPlace
        {
            [MethodImpl(MethodImplOptions.AggressiveOptimization)]
            get => _packedB == null && !_transB && (_m + _mr - 1) / _mr <= UnpackedBRowTiles;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public Job WithPackedA(float* packed) => new(_a, _transA, packed, _b, _transB, _packedB, _c, _m, _n, _k, _accumulate, _path);
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public Job WithPackedB(float* packed) => new(_a, _transA, _packedA, _b, _transB, packed, _c, _m, _n, _k, _accumulate, _path);

        /// <summary>Packs rows [first, last) of op(A), every K block, into the whole-operand layout.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void PackWholeA(float* target, int first, int last)
        {
            for (int p0 = 0; p0 < _k; p0 += _kcEven)
            {
                int kc = Math.Min(_kcEven, _k - p0);
                PackA(target + (long)p0 * PaddedM + (long)first * kc, p0, kc, first, last - first);
            }
        }

        /// <summary>Packs columns [first, last) of op(B), every K block, into the whole-operand layout.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void PackWholeB(float* target, int first, int last)
        {
            for (int p0 = 0; p0 < _k; p0 += _kcEven)
            {
                int kc = Math.Min(_kcEven, _k - p0);
                PackB(target + (long)p0 * PaddedN + (long)first * kc, p0, kc, first, last - first, PanelWidth);
            }
        }

        /// <summary>
        /// Computes the output block rows [i0,i1) x columns [j0,j1) in BLIS blocks: column blocks of
        /// NC, K blocks of KC (packed B block in L2), row blocks of MC (packed A block), then each A
        /// micro-panel (kept in L1) against every B micro-panel, one row of tiles at a time.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int i0, int i1, int j0, int j1)
        {
            int nr = PanelWidth;
            var packA = Grow(ref _packA, _mc * KC);
            var packB = Grow(ref _packB, NC * KC);
            fixed (float* pA = packA, pB = packB)
            {
                for (int jc = j0; jc < j1; jc += NC)
                {
                    int nc = Math.Min(NC, j1 - jc);
                    for (int p0 = 0; p0 < _k; p0 += _kcEven)
                    {
                        int kc = Math.Min(_kcEven, _k - p0);
                        bool add = _accumulate || p0 > 0;
                        float* blockB = pB;
                        bool rowsOfB = ReadsBInPlace;
                        if (_packedB != null) blockB = _packedB + (long)p0 * PaddedN + (long)jc * kc;
                        else if (rowsOfB)
                        {
                            // Whole panels are read where they lie; a narrower last one is packed (a
                            // tile's loads would run past the end of its rows, and of B's buffer).
                            blockB = _b + (long)p0 * _n + jc;
                            int whole = nc / nr * nr;
                            if (whole < nc) PackB(pB, p0, kc, jc + whole, nc - whole, nr);
                        }
                        else PackB(pB, p0, kc, jc, nc, nr);
                        bool rowsOfA = ReadsAInPlace(nc);
                        for (int ic = i0; ic < i1; ic += _mc)
                        {
                            int mc = Math.Min(_mc, i1 - ic);
                            float* blockA = pA;
                            if (_packedA != null) blockA = _packedA + (long)p0 * PaddedM + (long)ic * kc;
                            else if (!rowsOfA) PackA(pA, p0, kc, ic, mc);
                            // Row tiles outer, so that with FMA each whole one sweeps the block's whole panels
                            // in one call (B micro-panel per micro-panel in L1 first was no faster at 512³).
                            int wholePanels = _path != SimdPath.Portable ? nc / nr : 0;
                            for (int ir = 0; ir < mc; ir += _mr)
                            {
                                int jr = 0;
                                if (mc - ir >= _mr && wholePanels > 0)
                                {
                                    RunWholeTiles(blockA, rowsOfA, rowsOfB, blockB, ic + ir, ir, p0, kc, jc, wholePanels, add);
                                    jr = wholePanels * nr;
                                }
                                for (; jr < nc; jr += nr) RunTile(blockA, rowsOfA, rowsOfB, blockB, pB, ic, ir, mc, p0, kc, jc, jr, nc, add);
                            }
                        }
                    }
                }
            }
        }

        /// <summary>
        /// Whole tiles of the rows from <paramref name="row"/>, <paramref name="panels"/> panels from column
        /// <paramref name="column"/> (<see cref="Kernel512Panels"/>, <see cref="Kernel256Panels"/>).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        void RunWholeTiles(float* blockA, bool rowsOfA, bool rowsOfB, float* panelB, int row, int ir, int p0, int kc, int column, int panels, bool add)
        {
            float* a = TileA(blockA, rowsOfA, row, ir, p0, kc, out long lda, out long aStep);
            long nr = PanelWidth, ldb = rowsOfB ? _n : nr, panelStride = rowsOfB ? nr : nr * kc;
            float* c = _c + (long)row * _n + column;
            if (_path == SimdPath.Avx512) Kernel512Panels(a, lda, aStep, panelB, ldb, panelStride, kc, c, _n, panels, add);
            else Kernel256Panels(a, lda, aStep, panelB, ldb, panelStride, kc, c, _n, panels, add);
        }

        /// <summary>The tile at rows ic + ir and columns jc + jr of the block, whole or at an edge.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        void RunTile(float* blockA, bool rowsOfA, bool rowsOfB, float* blockB, float* packedEdge, int ic, int ir, int mc, int p0, int kc, int jc, int jr, int nc, bool add)
        {
            int nr = PanelWidth;
            int ncols = Math.Min(nr, nc - jr), mr = Math.Min(_mr, mc - ir);
            float* tileB = blockB + jr * kc;
            long ldb = nr;
            if (rowsOfB && ncols == nr)
            {
                tileB = blockB + jr;
                ldb = _n;
            }
            else if (rowsOfB) tileB = packedEdge;
            float* dst = _c + (long)(ic + ir) * _n + jc + jr;
            float* a = TileA(blockA, rowsOfA, ic + ir, ir, p0, kc, out long lda, out long aStep);
            if (_path == SimdPath.Avx512) Kernel512Edge(a, lda, aStep, tileB, ldb, kc, dst, _n, mr, ncols, add);
            else Kernel256(a, lda, aStep, tileB, ldb, kc, dst, _n, mr, ncols, add, _path == SimdPath.Avx2);
        }

        /// <summary>
        /// A tile's rows of A from <paramref name="row"/>: where A lies (rows <paramref name="lda"/> = k
        /// apart, consecutive k), or in the packed block (rows side by side, the tile's rows apart per k).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        float* TileA(float* blockA, bool rowsOfA, int row, int ir, int p0, int kc, out long lda, out long aStep)
        {
            lda = rowsOfA ? _k : 1;
            aStep = rowsOfA ? 1 : _mr;
            return rowsOfA ? _a + (long)row * _k + p0 : blockA + ir * kc;
        }

        /// <summary>Packs op(A)[i0.., p0..p0+kc) as panels of the tile's rows, k-major, zero-padded.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        void PackA(float* dst, int p0, int kc, int i0, int rows)
        {
            for (int r0 = 0; r0 < rows; r0 += _mr, dst += _mr * kc)
            {
                int mr = Math.Min(_mr, rows - r0);
                long row = i0 + r0;
                if (_transA && mr == _mr)
                {
                    // The panel's rows are side by side in each row of A: a tile's rows are contiguous
                    // floats per k, copied as eight (on the 256-bit paths six, and the two extra are
                    // overwritten by the next k's; the last k's are copied one by one, so nothing lands
                    // past the panel).
                    float* source = _a + (long)p0 * _m + row;
                    int p = 0;
                    if (Vector256.IsHardwareAccelerated && row + 8 <= _m)
                        for (; p < kc - 1; p++, source += _m) Vector256.Store(Vector256.Load(source), dst + p * _mr);
                    for (; p < kc; p++, source += _m)
                    {
                        float* target = dst + p * _mr;
                        for (int r = 0; r < _mr; r++) target[r] = source[r];
                    }
                }
                else
                {
                    // A row of the tile at a time: the panel (at most 8 x KC floats) stays in L1 while it fills.
                    if (mr < _mr) new Span<float>(dst, _mr * kc).Clear();
                    for (int r = 0; r < mr; r++)
                        for (int p = 0; p < kc; p++)
                            dst[p * _mr + r] = _transA ? _a[(long)(p0 + p) * _m + row + r] : _a[(row + r) * _k + p0 + p];
                }
            }
        }

        /// <summary>Packs op(B)[p0..p0+kc, j0..j0+columns) as nr-column panels, k-major, zero-padded.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        void PackB(float* dst, int p0, int kc, int j0, int columns, int nr)
        {
            for (int c0 = 0; c0 < columns; c0 += nr, dst += nr * kc)
            {
                int w = Math.Min(nr, columns - c0);
                if (w < nr) new Span<float>(dst, nr * kc).Clear();
                if (!_transB)
                {
                    float* source = _b + (long)p0 * _n + j0 + c0;
                    if (w == nr)
                        for (int p = 0; p < kc; p++, source += _n)
                            for (int j = 0; j < nr; j += 8) Vector256.Store(Vector256.Load(source + j), dst + p * nr + j);
                    else
                        for (int p = 0; p < kc; p++, source += _n)
                            Buffer.MemoryCopy(source, dst + p * nr, w * sizeof(float), w * sizeof(float));
                }
                else
                {
                    // Each column of op(B) is a contiguous row of B: 8 x 8 blocks are transposed in registers.
                    // A last block of fewer rows repeats its last row into the panel's padding (whose
                    // products are dropped) rather than going one float at a time: packing the CNN's
                    // 63-wide Winograd operands took 0.24 us instead of 0.32 on a Zen 4 core.
                    int j = 0;
                    if (Avx.IsSupported)
                        for (; j < w; j += 8)
                        {
                            float* source = _b + (long)(j0 + c0 + j) * _k + p0;
                            int rows = Math.Min(8, w - j);
                            int p = 0;
                            for (; p + 8 <= kc; p += 8) Transpose8x8(source + p, _k, rows, dst + p * nr + j, nr);
                            for (; p < kc; p++)
                                for (int t = 0; t < 8; t++) dst[p * nr + j + t] = source[(long)Math.Min(t, rows - 1) * _k + p];
                        }
                    for (; j < w; j++)
                    {
                        float* source = _b + (long)(j0 + c0 + j) * _k + p0;
                        float* target = dst + j;
                        for (int p = 0; p < kc; p++) target[p * nr] = source[p];
                    }
                }
            }
        }
    }

    /// <summary>
    /// Writes the transpose of the 8 x 8 block at source (rows sourceStride apart) to target (rows
    /// targetStride apart); of a block of fewer <paramref name="rows"/>, the last row stands in for the missing ones.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Transpose8x8(float* source, int sourceStride, int rows, float* target, int targetStride)
    {
        long Row(int t) => (long)Math.Min(t, rows - 1) * sourceStride;
        var r0 = Avx.LoadVector256(source); var r1 = Avx.LoadVector256(source + Row(1));
        var r2 = Avx.LoadVector256(source + Row(2)); var r3 = Avx.LoadVector256(source + Row(3));
        var r4 = Avx.LoadVector256(source + Row(4)); var r5 = Avx.LoadVector256(source + Row(5));
        var r6 = Avx.LoadVector256(source + Row(6)); var r7 = Avx.LoadVector256(source + Row(7));
        Transpose8x8(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7);
        Avx.Store(target, r0);
        Avx.Store(target + targetStride, r1);
        Avx.Store(target + 2 * targetStride, r2);
        Avx.Store(target + 3 * targetStride, r3);
        Avx.Store(target + 4 * targetStride, r4);
        Avx.Store(target + 5 * targetStride, r5);
        Avx.Store(target + 6 * targetStride, r6);
        Avx.Store(target + 7 * targetStride, r7);
    }

    /// <summary>Transposes the 8 x 8 block held in eight registers, row i becoming column i (AVX).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Transpose8x8(ref Vector256<float> r0, ref Vector256<float> r1, ref Vector256<float> r2, ref Vector256<float> r3,
        ref Vector256<float> r4, ref Vector256<float> r5, ref Vector256<float> r6, ref Vector256<float> r7)
    {
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1); var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5); var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        var s0 = Avx.Shuffle(t0, t2, 0x44); var s1 = Avx.Shuffle(t0, t2, 0xEE); var s2 = Avx.Shuffle(t1, t3, 0x44); var s3 = Avx.Shuffle(t1, t3, 0xEE);
        var s4 = Avx.Shuffle(t4, t6, 0x44); var s5 = Avx.Shuffle(t4, t6, 0xEE); var s6 = Avx.Shuffle(t5, t7, 0x44); var s7 = Avx.Shuffle(t5, t7, 0xEE);
        r0 = Avx.Permute2x128(s0, s4, 0x20);
        r1 = Avx.Permute2x128(s1, s5, 0x20);
        r2 = Avx.Permute2x128(s2, s6, 0x20);
        r3 = Avx.Permute2x128(s3, s7, 0x20);
        r4 = Avx.Permute2x128(s0, s4, 0x31);
        r5 = Avx.Permute2x128(s1, s5, 0x31);
        r6 = Avx.Permute2x128(s2, s6, 0x31);
        r7 = Avx.Permute2x128(s3, s7, 0x31);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static float[] Grow(ref float[]? buffer, int length)
    {
        if (buffer is null || buffer.Length < length) buffer = new float[Math.Max(length, 64 * 1024)];
        return buffer;
    }

    /// <summary>
    /// Up to this many column panels per block, A is read where it lies (the kernels' lda and aStep)
    /// rather than packed: a short A used by few column panels (an MLP layer at batch 64: 64 x 784
    /// against 4 panels) cost a sixth of the product to pack, one scalar move per element. Reading A
    /// in place was measured faster or equal at every shape the bench times, up to 512³ (16 panels
    /// per block on Zen 5 and on Zen 3); larger blocks, on CPUs with larger L2, keep packing.
    /// </summary>
    const int UnpackedAPanels = 16;

    /// <summary>
    /// Up to this many row tiles, B's whole panels are read where they lie (a row of B apart: the
    /// kernels' ldb) rather than packed: packing moves every element of B once per block for the
    /// few tiles that then read it (0.57 of 4.5 us at the CNN's first-layer product, 32x676x9, on
    /// one Zen 4 core).
    /// </summary>
    const int UnpackedBRowTiles = 8;

    /// <summary>
    /// One 8 x 32 tile at an edge of C (fewer than 8 rows, or fewer than 32 columns), A and B as in
    /// <see cref="Kernel512Panels"/>: stored straight to C (or added to it) under masks. Rows past
    /// <paramref name="mr"/> repeat the last; their sums go to a spare row on the stack and are dropped.
    /// A kernel of its own: with a second store path after the same loop, the register allocator
    /// (fully optimised code compiled at first call, without profile data) spilled all the
    /// accumulators on every iteration, four times slower.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit]
    static void Kernel512Edge(float* a, long lda, long aStep, float* b, long ldb, int kc, float* c, int ldc, int mr, int nc, bool add)
    {
        float* a1 = a + Math.Min(1, mr - 1) * lda, a2 = a + Math.Min(2, mr - 1) * lda, a3 = a + Math.Min(3, mr - 1) * lda;
        float* a4 = a + Math.Min(4, mr - 1) * lda, a5 = a + Math.Min(5, mr - 1) * lda, a6 = a + Math.Min(6, mr - 1) * lda, a7 = a + Math.Min(7, mr - 1) * lda;
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
            c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default,
            c60 = default, c61 = default, c70 = default, c71 = default;
        Accumulate8x32(a, a1, a2, a3, a4, a5, a6, a7, kc * aStep, aStep, b, ldb, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21,
            ref c30, ref c31, ref c40, ref c41, ref c50, ref c51, ref c60, ref c61, ref c70, ref c71);
        float* spare = stackalloc float[32];
        var left = ColumnMask(nc, 0);
        var right = ColumnMask(nc, 16);
        StoreMasked512(c, c00, c01, left, right, add); StoreMasked512(RowOrSpare(c, ldc, 1, mr, spare), c10, c11, left, right, add);
        StoreMasked512(RowOrSpare(c, ldc, 2, mr, spare), c20, c21, left, right, add); StoreMasked512(RowOrSpare(c, ldc, 3, mr, spare), c30, c31, left, right, add);
        StoreMasked512(RowOrSpare(c, ldc, 4, mr, spare), c40, c41, left, right, add); StoreMasked512(RowOrSpare(c, ldc, 5, mr, spare), c50, c51, left, right, add);
        StoreMasked512(RowOrSpare(c, ldc, 6, mr, spare), c60, c61, left, right, add); StoreMasked512(RowOrSpare(c, ldc, 7, mr, spare), c70, c71, left, right, add);
    }

    /// <summary>
    /// Whole 8 x 32 tiles, <paramref name="panels"/> of them side by side: B's panels
    /// <paramref name="panelStride"/> floats apart, A's eight rows <paramref name="lda"/> apart with
    /// <paramref name="aStep"/> floats from one k to the next (1 where A is read in place, 8 in a packed
    /// panel). Plain stores, and the set-up paid once per row of tiles: at a depth of 9 (the CNN's first
    /// layer, 32x676x9) a tile is 144 FMAs, and a call per tile with masked stores ran at 63-65% of a
    /// Zen 5 core's peak against 72-73% this way.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit]
    static void Kernel512Panels(float* a, long lda, long aStep, float* b, long ldb, long panelStride, int kc, float* c, int ldc, int panels, bool add)
    {
        float* a1 = a + lda, a2 = a + 2 * lda, a3 = a + 3 * lda, a4 = a + 4 * lda, a5 = a + 5 * lda, a6 = a + 6 * lda, a7 = a + 7 * lda;
        long end = kc * aStep, s = ldc;
        for (int panel = 0; panel < panels; panel++, b += panelStride, c += 32)
        {
            Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
                c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default,
                c60 = default, c61 = default, c70 = default, c71 = default;
            Accumulate8x32(a, a1, a2, a3, a4, a5, a6, a7, end, aStep, b, ldb, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21,
                ref c30, ref c31, ref c40, ref c41, ref c50, ref c51, ref c60, ref c61, ref c70, ref c71);
            if (add)
            {
                c00 += Vector512.Load(c); c01 += Vector512.Load(c + 16); c10 += Vector512.Load(c + s); c11 += Vector512.Load(c + s + 16);
                c20 += Vector512.Load(c + 2 * s); c21 += Vector512.Load(c + 2 * s + 16); c30 += Vector512.Load(c + 3 * s); c31 += Vector512.Load(c + 3 * s + 16);
                c40 += Vector512.Load(c + 4 * s); c41 += Vector512.Load(c + 4 * s + 16); c50 += Vector512.Load(c + 5 * s); c51 += Vector512.Load(c + 5 * s + 16);
                c60 += Vector512.Load(c + 6 * s); c61 += Vector512.Load(c + 6 * s + 16); c70 += Vector512.Load(c + 7 * s); c71 += Vector512.Load(c + 7 * s + 16);
            }
            c00.Store(c); c01.Store(c + 16); c10.Store(c + s); c11.Store(c + s + 16); c20.Store(c + 2 * s); c21.Store(c + 2 * s + 16);
            c30.Store(c + 3 * s); c31.Store(c + 3 * s + 16); c40.Store(c + 4 * s); c41.Store(c + 4 * s + 16); c50.Store(c + 5 * s); c51.Store(c + 5 * s + 16);
            c60.Store(c + 6 * s); c61.Store(c + 6 * s + 16); c70.Store(c + 7 * s); c71.Store(c + 7 * s + 16);
        }
    }

    /// <summary>
    /// The 8 x 32 tile's sums over k: A's row r at <paramref name="a0"/>..<paramref name="a7"/>, offsets
    /// 0, <paramref name="aStep"/>, ... below <paramref name="end"/>; B's two vectors per k
    /// <paramref name="ldb"/> floats apart. Inlined into each kernel, so the accumulators stay in registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Accumulate8x32(float* a0, float* a1, float* a2, float* a3, float* a4, float* a5, float* a6, float* a7, long end, long aStep,
        float* b, long ldb, ref Vector512<float> c00, ref Vector512<float> c01, ref Vector512<float> c10, ref Vector512<float> c11,
        ref Vector512<float> c20, ref Vector512<float> c21, ref Vector512<float> c30, ref Vector512<float> c31, ref Vector512<float> c40,
        ref Vector512<float> c41, ref Vector512<float> c50, ref Vector512<float> c51, ref Vector512<float> c60, ref Vector512<float> c61,
        ref Vector512<float> c70, ref Vector512<float> c71)
    {
        for (long p = 0; p < end; p += aStep)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + 16);
            var x = Vector512.Create(a0[p]); c00 = Avx512F.FusedMultiplyAdd(x, b0, c00); c01 = Avx512F.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(a1[p]); c10 = Avx512F.FusedMultiplyAdd(x, b0, c10); c11 = Avx512F.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(a2[p]); c20 = Avx512F.FusedMultiplyAdd(x, b0, c20); c21 = Avx512F.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(a3[p]); c30 = Avx512F.FusedMultiplyAdd(x, b0, c30); c31 = Avx512F.FusedMultiplyAdd(x, b1, c31);
            x = Vector512.Create(a4[p]); c40 = Avx512F.FusedMultiplyAdd(x, b0, c40); c41 = Avx512F.FusedMultiplyAdd(x, b1, c41);
            x = Vector512.Create(a5[p]); c50 = Avx512F.FusedMultiplyAdd(x, b0, c50); c51 = Avx512F.FusedMultiplyAdd(x, b1, c51);
            x = Vector512.Create(a6[p]); c60 = Avx512F.FusedMultiplyAdd(x, b0, c60); c61 = Avx512F.FusedMultiplyAdd(x, b1, c61);
            x = Vector512.Create(a7[p]); c70 = Avx512F.FusedMultiplyAdd(x, b0, c70); c71 = Avx512F.FusedMultiplyAdd(x, b1, c71);
            b += ldb;
        }
    }

    /// <summary>Lanes of the 16 columns from <paramref name="first"/> that lie within a tile <paramref name="columns"/> wide.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<float> ColumnMask(int columns, int first) =>
        Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(columns - first)).AsSingle();

    /// <summary>Row <paramref name="row"/> of C, or <paramref name="spare"/> for a row past the tile's <paramref name="rows"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float* RowOrSpare(float* c, int ldc, int row, int rows, float* spare) => row < rows ? c + (long)row * ldc : spare;

    /// <summary>
    /// Two vectors of a tile's row to C (or added to it) under AVX-512 masks: no edge tile goes through
    /// the stack and a scalar tail (the CNN's 63-wide Winograd products ran at 61-65% of a Zen 5 core's
    /// peak that way, 76% now), and masked-off lanes are neither read nor written.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreMasked512(float* c, Vector512<float> v0, Vector512<float> v1, Vector512<float> left, Vector512<float> right, bool add)
    {
        if (add)
        {
            v0 += Avx512F.MaskLoad(c, left, Vector512<float>.Zero);
            v1 += Avx512F.MaskLoad(c + 16, right, Vector512<float>.Zero);
        }
        Avx512F.MaskStore(c, left, v0);
        Avx512F.MaskStore(c + 16, right, v1);
    }

    /// <summary>
    /// 6 x 16 tile with twelve 256-bit accumulators, A and B as in <see cref="Kernel512Panels"/> (A read
    /// in place only with FMA): an edge tile, or any tile on the portable path (no FMA instruction). A
    /// whole tile is stored to C directly and only an edge tile goes through the stack (storing every
    /// tile through it cost 4% of the MLP's inference on Zen 3); the 512-bit kernels' masked stores have
    /// no fast AVX2 form.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit]
    static void Kernel256(float* a, long lda, long aStep, float* b, long ldb, int kc, float* c, int ldc, int mr, int nc, bool add, bool fma)
    {
        float* tile = stackalloc float[Rows256 * 16];
        bool whole = mr == Rows256 && nc == 16;
        float* target = whole ? c : tile;
        long stride = whole ? ldc : 16;
        bool addHere = whole && add;
        float* a1 = a + Math.Min(1, mr - 1) * lda, a2 = a + Math.Min(2, mr - 1) * lda;
        float* a3 = a + Math.Min(3, mr - 1) * lda, a4 = a + Math.Min(4, mr - 1) * lda, a5 = a + Math.Min(5, mr - 1) * lda;
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
            c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        long end = kc * aStep;
        if (fma)
            Accumulate6x16(a, a1, a2, a3, a4, a5, end, aStep, b, ldb, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21,
                ref c30, ref c31, ref c40, ref c41, ref c50, ref c51);
        else
        {
            for (long p = 0; p < end; p += aStep)
            {
                var b0 = Vector256.Load(b);
                var b1 = Vector256.Load(b + 8);
                var x = Vector256.Create(a[p]); c00 += x * b0; c01 += x * b1;
                x = Vector256.Create(a1[p]); c10 += x * b0; c11 += x * b1;
                x = Vector256.Create(a2[p]); c20 += x * b0; c21 += x * b1;
                x = Vector256.Create(a3[p]); c30 += x * b0; c31 += x * b1;
                x = Vector256.Create(a4[p]); c40 += x * b0; c41 += x * b1;
                x = Vector256.Create(a5[p]); c50 += x * b0; c51 += x * b1;
                b += ldb;
            }
        }
        Store256(target, c00, c01, addHere); Store256(target + stride, c10, c11, addHere); Store256(target + 2 * stride, c20, c21, addHere);
        Store256(target + 3 * stride, c30, c31, addHere); Store256(target + 4 * stride, c40, c41, addHere); Store256(target + 5 * stride, c50, c51, addHere);
        if (!whole) StoreTile(tile, 16, c, ldc, mr, nc, add);
    }

    /// <summary>
    /// Whole 6 x 16 tiles with FMA, <paramref name="panels"/> of them side by side, as <see cref="Kernel512Panels"/>
    /// on the AVX-512 path: stored straight to C, the set-up paid once per row of tiles.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit]
    static void Kernel256Panels(float* a, long lda, long aStep, float* b, long ldb, long panelStride, int kc, float* c, int ldc, int panels, bool add)
    {
        float* a1 = a + lda, a2 = a + 2 * lda, a3 = a + 3 * lda, a4 = a + 4 * lda, a5 = a + 5 * lda;
        long end = kc * aStep, s = ldc;
        for (int panel = 0; panel < panels; panel++, b += panelStride, c += 16)
        {
            Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
                c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
            Accumulate6x16(a, a1, a2, a3, a4, a5, end, aStep, b, ldb, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21,
                ref c30, ref c31, ref c40, ref c41, ref c50, ref c51);
            Store256(c, c00, c01, add); Store256(c + s, c10, c11, add); Store256(c + 2 * s, c20, c21, add);
            Store256(c + 3 * s, c30, c31, add); Store256(c + 4 * s, c40, c41, add); Store256(c + 5 * s, c50, c51, add);
        }
    }

    /// <summary>The 6 x 16 tile's sums over k with FMA, as <see cref="Accumulate8x32"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Accumulate6x16(float* a0, float* a1, float* a2, float* a3, float* a4, float* a5, long end, long aStep, float* b, long ldb,
        ref Vector256<float> c00, ref Vector256<float> c01, ref Vector256<float> c10, ref Vector256<float> c11, ref Vector256<float> c20,
        ref Vector256<float> c21, ref Vector256<float> c30, ref Vector256<float> c31, ref Vector256<float> c40, ref Vector256<float> c41,
        ref Vector256<float> c50, ref Vector256<float> c51)
    {
        for (long p = 0; p < end; p += aStep)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            var x = Vector256.Create(a0[p]); c00 = Fma.MultiplyAdd(x, b0, c00); c01 = Fma.MultiplyAdd(x, b1, c01);
            x = Vector256.Create(a1[p]); c10 = Fma.MultiplyAdd(x, b0, c10); c11 = Fma.MultiplyAdd(x, b1, c11);
            x = Vector256.Create(a2[p]); c20 = Fma.MultiplyAdd(x, b0, c20); c21 = Fma.MultiplyAdd(x, b1, c21);
            x = Vector256.Create(a3[p]); c30 = Fma.MultiplyAdd(x, b0, c30); c31 = Fma.MultiplyAdd(x, b1, c31);
            x = Vector256.Create(a4[p]); c40 = Fma.MultiplyAdd(x, b0, c40); c41 = Fma.MultiplyAdd(x, b1, c41);
            x = Vector256.Create(a5[p]); c50 = Fma.MultiplyAdd(x, b0, c50); c51 = Fma.MultiplyAdd(x, b1, c51);
            b += ldb;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Store256(float* c, Vector256<float> v0, Vector256<float> v1, bool add)
    {
        if (add)
        {
            v0 += Vector256.Load(c);
            v1 += Vector256.Load(c + 8);
        }
        v0.Store(c);
        v1.Store(c + 8);
    }

    /// <summary>C's mr x nc corner = (or +=) the tile's, eight floats at a time where they fit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void StoreTile(float* tile, int nr, float* c, int ldc, int mr, int nc, bool add)
    {
        for (int r = 0; r < mr; r++)
        {
            float* src = tile + r * nr, dst = c + (long)r * ldc;
            int j = 0;
            for (; j + 8 <= nc; j += 8)
            {
                var v = Vector256.Load(src + j);
                if (add) v += Vector256.Load(dst + j);
                v.Store(dst + j);
            }
            if (add) for (; j < nc; j++) dst[j] += src[j];
            else for (; j < nc; j++) dst[j] = src[j];
        }
    }
}
