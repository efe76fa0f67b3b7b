using System.Diagnostics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
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

    /// <summary>The threads start together and each times its own loop; their rates add up (thread start-up is not timed).</summary>
    static double MeasureOnce(int threads)
    {
        const long Iterations = 20_000_000;
        Spin(1_000_000);
        using var start = new Barrier(threads);
        var rates = new double[threads];
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            var clock = Stopwatch.StartNew();
            Spin(Iterations);
            rates[t] = Iterations * 12.0 * Lanes * 2 / clock.Elapsed.TotalSeconds / 1e9;
        })).ToList();
        workers.ForEach(t => t.Start());
        workers.ForEach(t => t.Join());
        return rates.Sum();
    }

    /// <summary>Twelve independent FMA chains per iteration: enough for two units of latency 4 or more.</summary>
    static float Spin(long iterations)
    {
        if (Gemm.Best == SimdPath.Avx512)
        {
            var a = Vector512.Create(1.0001f); var b = Vector512.Create(0.9999f);
            Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default, c8 = default, c9 = default, c10 = default, c11 = default;
            for (long i = 0; i < iterations; i++)
            {
                c0 = Avx512F.FusedMultiplyAdd(a, b, c0); c1 = Avx512F.FusedMultiplyAdd(a, b, c1); c2 = Avx512F.FusedMultiplyAdd(a, b, c2);
                c3 = Avx512F.FusedMultiplyAdd(a, b, c3); c4 = Avx512F.FusedMultiplyAdd(a, b, c4); c5 = Avx512F.FusedMultiplyAdd(a, b, c5);
                c6 = Avx512F.FusedMultiplyAdd(a, b, c6); c7 = Avx512F.FusedMultiplyAdd(a, b, c7); c8 = Avx512F.FusedMultiplyAdd(a, b, c8);
                c9 = Avx512F.FusedMultiplyAdd(a, b, c9); c10 = Avx512F.FusedMultiplyAdd(a, b, c10); c11 = Avx512F.FusedMultiplyAdd(a, b, c11);
            }
            return (c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11).ToScalar();
        }
        var x = Vector256.Create(1.0001f); var y = Vector256.Create(0.9999f);
        Vector256<float> d0 = default, d1 = default, d2 = default, d3 = default, d4 = default, d5 = default, d6 = default, d7 = default, d8 = default, d9 = default, d10 = default, d11 = default;
        for (long i = 0; i < iterations; i++)
        {
            d0 = Fma.MultiplyAdd(x, y, d0); d1 = Fma.MultiplyAdd(x, y, d1); d2 = Fma.MultiplyAdd(x, y, d2); d3 = Fma.MultiplyAdd(x, y, d3);
            d4 = Fma.MultiplyAdd(x, y, d4); d5 = Fma.MultiplyAdd(x, y, d5); d6 = Fma.MultiplyAdd(x, y, d6); d7 = Fma.MultiplyAdd(x, y, d7);
            d8 = Fma.MultiplyAdd(x, y, d8); d9 = Fma.MultiplyAdd(x, y, d9); d10 = Fma.MultiplyAdd(x, y, d10); d11 = Fma.MultiplyAdd(x, y, d11);
        }
        return (d0 + d1 + d2 + d3 + d4 + d5 + d6 + d7 + d8 + d9 + d10 + d11).ToScalar();
    }

    static string? CpuInfo(string key)
    {
        if (!File.Exists("/proc/cpuinfo")) return null;
        return File.ReadLines("/proc/cpuinfo").Where(l => l.StartsWith(key, StringComparison.Ordinal))
            .Select(l => l[(l.IndexOf(':') + 1)..].Trim()).FirstOrDefault();
    }
}
