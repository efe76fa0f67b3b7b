namespace HelloDl.Kernels;

/// <summary>
/// How the kernels run on this machine, chosen once from <see cref="CpuDescription"/>: the SIMD
/// path from the vector instructions, the cache blocks from the cache sizes, the threads from the
/// cores. The register tile is the same for split and full-width 512-bit FMA units (see below), so
/// the plan needs no timing of its own: reading CPUID is all it costs.
/// </summary>
/// <param name="TileRows">Rows of the register tile (MR); the tile's columns are one or two vectors.</param>
/// <param name="KBlock">Shared-dimension block (KC): a B micro-panel of KBlock x TileColumns floats.</param>
/// <param name="RowBlock">Rows of A packed per block (MC), a multiple of <paramref name="TileRows"/>.</param>
/// <param name="ColumnBlock">Columns of B packed per block (NC), a multiple of <paramref name="TileColumns"/>.</param>
public sealed record KernelPlan(SimdPath Path, int TileRows, int TileColumns, int KBlock, int RowBlock, int ColumnBlock, int Threads, string Reasons)
{
    /// <summary>The plan for this machine.</summary>
    public static KernelPlan Current { get; } = For(CpuDescription.Current, Environment.ProcessorCount);

    /// <summary>The plan for a processor with these features and caches (unknown sizes count as 32 KB L1 data, 1 MB L2).</summary>
    public static KernelPlan For(CpuDescription cpu, int cores)
    {
        var path = cpu.Avx512 ? SimdPath.Avx512 : cpu.Avx2Fma ? SimdPath.Avx2 : SimdPath.Portable;
        int columns = path == SimdPath.Avx512 ? 32 : 16;
        // Rows x 2 vectors of accumulators (Gemm.TileRowsOf): at least units x latency (2 x 4) for two
        // full-width FMA units as well as for one split one, with the two B vectors and a broadcast in registers.
        int rows = Gemm.TileRowsOf(path);
        int l1 = cpu.L1DataBytes > 0 ? cpu.L1DataBytes : 32 << 10, l2 = cpu.L2Bytes > 0 ? cpu.L2Bytes : 1 << 20;
        // A B micro-panel no larger than L1 (it streams through once per A panel, prefetched from L2).
        int kBlock = Math.Clamp(l1 / (columns * sizeof(float)) / 64 * 64, 64, 256);
        // The packed A block in a tenth of L2, the packed B block in half of it.
        int rowBlock = Math.Clamp(l2 / 10 / (kBlock * sizeof(float)) / rows * rows, 4 * rows, 40 * rows);
        int columnBlock = Math.Clamp(l2 / 2 / (kBlock * sizeof(float)) / columns * columns, 4 * columns, 64 * columns);
        string reasons = $"{path} from the vector instructions; {rows}x{columns} tile ({2 * rows} accumulators, for split or full-width FMA units); " +
            $"KC {kBlock} from L1d {l1 / 1024} KB, MC {rowBlock} and NC {columnBlock} from L2 {l2 / 1024} KB; {cores} threads for {cores} cores";
        return new KernelPlan(path, rows, columns, kBlock, rowBlock, columnBlock, cores, reasons);
    }

    public override string ToString() => Reasons;
}
