using System.Diagnostics;
using HelloDl.Kernels;

namespace HelloDl.Bench;

/// <summary>The machine's floating-point peak: derived from the CPU's description, and measured with a register-only FMA loop.</summary>
internal static class MachinePeak
{
    public static double NominalGHz { get; } = double.TryParse(CpuInfo("cpu MHz"), System.Globalization.CultureInfo.InvariantCulture, out double mhz) ? mhz / 1000 : 0;

    public static int Lanes => Gemm.Best == SimdPath.Avx512 ? 16 : 8;

    /// <summary>
    /// FMA instructions of full vector width per cycle: two 512-bit units where the CPU runs them at
    /// full width (measured, see CpuDescription), one where a 512-bit FMA is split in two 256-bit
    /// halves (AMD Zen 4); AVX2 cores have two 256-bit units.
    /// </summary>
    public static int FmaUnits => Gemm.Best == SimdPath.Avx512 && !CpuDescription.Current.FullWidth512 ? 1 : 2;

    public static double TheoreticalGflops(int cores) => cores * NominalGHz * Lanes * 2 * FmaUnits;

    public static string Derivation(int cores) =>
        $"{cores} core(s) x {NominalGHz:F2} GHz x {Lanes} lanes x 2 (FMA) x {FmaUnits} FMA unit(s) = {TheoreticalGflops(cores):F0} GFLOP/s";

    /// <summary>
    /// GFLOP/s of independent FMA chains in registers on <paramref name="threads"/> threads: the reachable
    /// ceiling. Best of 7 short rounds: on a shared machine a round can only be slowed, never sped up.
    /// </summary>
    public static double MeasuredGflops(int threads) => Enumerable.Range(0, 7).Max(_ => MeasureOnce(threads));

    /// <summary>
    /// One round of <paramref name="iterations"/> (some 40 ms at 20 million): the threads start
    /// together and each times its own loop; their rates add up (thread start-up is not timed).
    /// </summary>
    public static double MeasureOnce(int threads, long iterations = 20_000_000)
    {
        Spin(1_000_000);
        using var start = new Barrier(threads);
        var rates = new double[threads];
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            var clock = Stopwatch.StartNew();
            Spin(iterations);
            rates[t] = iterations * 12.0 * Lanes * 2 / clock.Elapsed.TotalSeconds / 1e9;
        })).ToList();
        workers.ForEach(t => t.Start());
        workers.ForEach(t => t.Join());
        return rates.Sum();
    }

    static float Spin(long iterations) =>
        Gemm.Best == SimdPath.Avx512 ? CpuDescription.FmaChains512(iterations) : CpuDescription.FmaChains256(iterations);

    static string? CpuInfo(string key)
    {
        if (!File.Exists("/proc/cpuinfo")) return null;
        return File.ReadLines("/proc/cpuinfo").Where(l => l.StartsWith(key, StringComparison.Ordinal))
            .Select(l => l[(l.IndexOf(':') + 1)..].Trim()).FirstOrDefault();
    }
}
