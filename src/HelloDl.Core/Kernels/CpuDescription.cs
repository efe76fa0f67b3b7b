using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Text;

namespace HelloDl.Kernels;

/// <summary>
/// What the processor reports about itself (CPUID: vendor, family and model, name, cache sizes,
/// vector instructions) and, measured when first asked, whether a 512-bit FMA runs at full width
/// (Intel's server cores, AMD Zen 5) or in two 256-bit halves (AMD Zen 4). The kernels' plan is
/// chosen from CPUID alone (<see cref="KernelPlan"/>); the width labels the benchmark's figures and
/// its peak.
/// </summary>
public sealed record CpuDescription(string Vendor, int Family, int Model, int Stepping, string Name,
    int L1DataBytes, int L2Bytes, int L3Bytes, bool Avx512, bool Avx2Fma)
{
    /// <summary>This machine's processor, read once.</summary>
    public static CpuDescription Current { get; } = Read();

    static readonly Lazy<double> MeasuredWidthRatio = new(MeasureWidthRatio);

    /// <summary>
    /// FMA throughput of 512-bit vectors over 256-bit ones, measured in registers on this thread
    /// (about 2 ms, at first use): about 2 when 512-bit FMA units are full width, about 1 when a
    /// 512-bit FMA is split in halves; 0 without AVX-512.
    /// </summary>
    public double Fma512Over256 => Avx512 ? MeasuredWidthRatio.Value : 0;

    /// <summary>Whether 512-bit FMAs run at full width (see <see cref="Fma512Over256"/>).</summary>
    public bool FullWidth512 => Fma512Over256 >= 1.5;

    /// <summary>The microarchitecture for the known families, else vendor, family and model.</summary>
    public string Microarchitecture => (Vendor, Family, Model) switch
    {
        ("AuthenticAMD", 0x19, >= 0x10 and <= 0x1F or >= 0x60 and <= 0x7F or >= 0xA0 and <= 0xAF) => "Zen 4",
        ("AuthenticAMD", 0x19, _) => "Zen 3",
        ("AuthenticAMD", 0x1A, _) => "Zen 5",
        ("GenuineIntel", 6, 0x8F) => "Sapphire Rapids",
        ("GenuineIntel", 6, 0xCF) => "Emerald Rapids",
        ("GenuineIntel", 6, 0xAD or 0xAE) => "Granite Rapids",
        ("GenuineIntel", 6, 0x6A or 0x6C) => "Ice Lake server",
        ("GenuineIntel", 6, 0x55) => "Skylake/Cascade Lake server",
        _ => $"{Vendor} family {Family:X}h model {Model:X}h",
    };

    public override string ToString() =>
        $"{Name} ({Microarchitecture}; L1d {L1DataBytes / 1024} KB, L2 {L2Bytes / 1024} KB, L3 {L3Bytes / 1024 / 1024} MB; " +
        (Avx512 ? $"AVX-512, 512-bit FMA {(FullWidth512 ? "full width" : "in two halves")} (measured {Fma512Over256:F2}x the 256-bit rate))" : Avx2Fma ? "AVX2 and FMA)" : "no AVX2)");

    static CpuDescription Read()
    {
        bool avx512 = Avx512F.IsSupported, avx2 = Avx2.IsSupported && Fma.IsSupported;
        if (!X86Base.IsSupported) return new("unknown", 0, 0, 0, System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString(), 0, 0, 0, avx512, avx2);
        var (maximum, vendorB, vendorC, vendorD) = X86Base.CpuId(0, 0);
        string vendor = DecodeVendor(vendorB, vendorD, vendorC);
        var (family, model, stepping) = DecodeSignature(X86Base.CpuId(1, 0).Eax);
        int maximumExtended = X86Base.CpuId(unchecked((int)0x80000000), 0).Eax;
        string name = maximumExtended >= unchecked((int)0x80000004) ? DecodeName(Enumerable.Range(2, 3)
            .Select(i => X86Base.CpuId(unchecked((int)0x80000000) + i, 0)).SelectMany(r => new[] { r.Eax, r.Ebx, r.Ecx, r.Edx }).ToArray()) : vendor;
        // Deterministic cache parameters: leaf 4 (Intel) or 0x8000001D (AMD), same layout.
        int cacheLeaf = vendor == "AuthenticAMD" ? unchecked((int)0x8000001D) : 4;
        bool hasCacheLeaf = vendor == "AuthenticAMD" ? maximumExtended >= cacheLeaf : maximum >= 4;
        int l1 = 0, l2 = 0, l3 = 0;
        for (int index = 0; hasCacheLeaf && index < 16; index++)
        {
            var (eax, ebx, ecx, _) = X86Base.CpuId(cacheLeaf, index);
            var cache = DecodeCache(eax, ebx, ecx);
            if (cache.Type == 0) break;
            if (cache.Level == 1 && cache.Type == 1) l1 = cache.Bytes;
            else if (cache.Level == 2 && cache.Type != 2) l2 = cache.Bytes;
            else if (cache.Level == 3 && cache.Type != 2) l3 = cache.Bytes;
        }
        return new(vendor, family, model, stepping, name, l1, l2, l3, avx512, avx2);
    }

    /// <summary>The vendor string of CPUID leaf 0, whose registers hold it in the order EBX, EDX, ECX.</summary>
    public static string DecodeVendor(int ebx, int edx, int ecx)
    {
        var bytes = new byte[12];
        BitConverter.TryWriteBytes(bytes.AsSpan(0), ebx);
        BitConverter.TryWriteBytes(bytes.AsSpan(4), edx);
        BitConverter.TryWriteBytes(bytes.AsSpan(8), ecx);
        return Encoding.ASCII.GetString(bytes);
    }

    /// <summary>Family, model and stepping from leaf 1's EAX, with the extended fields where they apply.</summary>
    public static (int Family, int Model, int Stepping) DecodeSignature(int eax)
    {
        int stepping = eax & 0xF, model = (eax >> 4) & 0xF, family = (eax >> 8) & 0xF;
        int extendedModel = (eax >> 16) & 0xF, extendedFamily = (eax >> 20) & 0xFF;
        if (family == 0xF) family += extendedFamily;
        if (family == 0x6 || family >= 0xF) model += extendedModel << 4;
        return (family, model, stepping);
    }

    /// <summary>The processor's name from leaves 0x80000002-4 (four registers each), trimmed.</summary>
    public static string DecodeName(int[] registers)
    {
        var bytes = new byte[registers.Length * 4];
        for (int i = 0; i < registers.Length; i++) BitConverter.TryWriteBytes(bytes.AsSpan(i * 4), registers[i]);
        return Encoding.ASCII.GetString(bytes).TrimEnd('\0').Trim();
    }

    /// <summary>One cache's type (0 none, 1 data, 2 instruction, 3 unified), level and size from a deterministic cache leaf.</summary>
    public static (int Type, int Level, int Bytes) DecodeCache(int eax, int ebx, int ecx)
    {
        int type = eax & 0x1F, level = (eax >> 5) & 0x7;
        long ways = ((uint)ebx >> 22) + 1, partitions = ((ebx >> 12) & 0x3FF) + 1, line = (ebx & 0xFFF) + 1, sets = (uint)ecx + 1L;
        return (type, level, type == 0 ? 0 : (int)Math.Min(int.MaxValue, ways * partitions * line * sets));
    }

    static double MeasureWidthRatio()
    {
        // Best of three short rounds each: a round can only be slowed by the machine, never sped up.
        double wide = 0, narrow = 0;
        for (int round = 0; round < 3; round++)
        {
            wide = Math.Max(wide, FlopsPerTick(FmaChains512, 12 * 16 * 2));
            narrow = Math.Max(narrow, FlopsPerTick(FmaChains256, 12 * 8 * 2));
        }
        return wide / narrow;
    }

    static double FlopsPerTick(Func<long, float> chains, int flopsPerIteration)
    {
        const int Iterations = 100_000;
        chains(1000);
        long start = Stopwatch.GetTimestamp();
        chains(Iterations);
        return (double)Iterations * flopsPerIteration / Math.Max(1, Stopwatch.GetTimestamp() - start);
    }

    /// <summary>
    /// Twelve independent 512-bit FMA chains in registers (12 x 16 x 2 flops an iteration): enough
    /// to keep two units of latency 4 busy. The benchmark's peak runs it too.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    public static float FmaChains512(long iterations)
    {
        var x = Vector512.Create(1.0001f); var y = Vector512.Create(0.9999f);
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default, c8 = default, c9 = default, c10 = default, c11 = default;
        for (long i = 0; i < iterations; i++)
        {
            c0 = Avx512F.FusedMultiplyAdd(x, y, c0); c1 = Avx512F.FusedMultiplyAdd(x, y, c1); c2 = Avx512F.FusedMultiplyAdd(x, y, c2);
            c3 = Avx512F.FusedMultiplyAdd(x, y, c3); c4 = Avx512F.FusedMultiplyAdd(x, y, c4); c5 = Avx512F.FusedMultiplyAdd(x, y, c5);
            c6 = Avx512F.FusedMultiplyAdd(x, y, c6); c7 = Avx512F.FusedMultiplyAdd(x, y, c7); c8 = Avx512F.FusedMultiplyAdd(x, y, c8);
            c9 = Avx512F.FusedMultiplyAdd(x, y, c9); c10 = Avx512F.FusedMultiplyAdd(x, y, c10); c11 = Avx512F.FusedMultiplyAdd(x, y, c11);
        }
        return (c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11).ToScalar();
    }

    /// <summary>The same twelve chains with 256-bit vectors and FMA: half the flops per instruction.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    public static float FmaChains256(long iterations)
    {
        var x = Vector256.Create(1.0001f); var y = Vector256.Create(0.9999f);
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default, c8 = default, c9 = default, c10 = default, c11 = default;
        for (long i = 0; i < iterations; i++)
        {
            c0 = Fma.MultiplyAdd(x, y, c0); c1 = Fma.MultiplyAdd(x, y, c1); c2 = Fma.MultiplyAdd(x, y, c2);
            c3 = Fma.MultiplyAdd(x, y, c3); c4 = Fma.MultiplyAdd(x, y, c4); c5 = Fma.MultiplyAdd(x, y, c5);
            c6 = Fma.MultiplyAdd(x, y, c6); c7 = Fma.MultiplyAdd(x, y, c7); c8 = Fma.MultiplyAdd(x, y, c8);
            c9 = Fma.MultiplyAdd(x, y, c9); c10 = Fma.MultiplyAdd(x, y, c10); c11 = Fma.MultiplyAdd(x, y, c11);
        }
        return (c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11).ToScalar();
    }
}
