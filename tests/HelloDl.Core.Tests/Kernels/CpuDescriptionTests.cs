using HelloDl.Kernels;

namespace HelloDl.Tests.Kernels;

public sealed class CpuDescriptionTests
{
    [Theory]
    // Leaf 1 EAX of the machine kinds this project runs on, as the processors report them.
    [InlineData(0x00B00F21, 0x1A, 0x02, 1)]   // AMD EPYC, Zen 5 (Turin): family 26 model 2
    [InlineData(0x00A10F11, 0x19, 0x11, 1)]   // AMD EPYC, Zen 4 (Genoa): family 25 model 17
    [InlineData(0x000806F8, 0x06, 0x8F, 8)]   // Intel Xeon, Sapphire Rapids: family 6 model 143
    [InlineData(0x00000F29, 0x0F, 0x02, 9)]   // family 15 without extended bits: no extended model either
    public void Signature_decodes_family_and_model_with_their_extended_fields(int eax, int family, int model, int stepping) =>
        Assert.Equal((family, model, stepping), CpuDescription.DecodeSignature(eax));

    [Theory]
    [InlineData("AuthenticAMD", 0x1A, 0x02, "Zen 5")]
    [InlineData("AuthenticAMD", 0x19, 0x11, "Zen 4")]
    [InlineData("AuthenticAMD", 0x19, 0x01, "Zen 3")]
    [InlineData("GenuineIntel", 0x06, 0x8F, "Sapphire Rapids")]
    [InlineData("GenuineIntel", 0x06, 0x01, "GenuineIntel family 6h model 1h")]
    public void Microarchitecture_is_named_for_the_known_families(string vendor, int family, int model, string name) =>
        Assert.Equal(name, new CpuDescription(vendor, family, model, 0, "test", 0, 0, 0, false, false).Microarchitecture);

    [Fact]
    public void Vendor_string_reads_ebx_edx_ecx_in_that_order()
    {
        static int Word(string four) => BitConverter.ToInt32(System.Text.Encoding.ASCII.GetBytes(four));
        Assert.Equal("AuthenticAMD", CpuDescription.DecodeVendor(Word("Auth"), Word("enti"), Word("cAMD")));
        Assert.Equal("GenuineIntel", CpuDescription.DecodeVendor(Word("Genu"), Word("ineI"), Word("ntel")));
    }

    [Fact]
    public void Name_is_the_brand_registers_without_padding()
    {
        var bytes = new byte[48];
        System.Text.Encoding.ASCII.GetBytes("  AMD EPYC 9B45").CopyTo(bytes, 0);
        var registers = Enumerable.Range(0, 12).Select(i => BitConverter.ToInt32(bytes, i * 4)).ToArray();
        Assert.Equal("AMD EPYC 9B45", CpuDescription.DecodeName(registers));
    }

    [Fact]
    public void Cache_leaf_gives_ways_times_partitions_times_line_times_sets()
    {
        // A 48 KB 12-way L1 data cache with 64-byte lines (64 sets), and a 2 MB 16-way unified L2.
        Assert.Equal((1, 1, 48 << 10), CpuDescription.DecodeCache(1 | 1 << 5, 11 << 22 | 63, 63));
        Assert.Equal((3, 2, 2 << 20), CpuDescription.DecodeCache(3 | 2 << 5, 15 << 22 | 63, 2047));
        Assert.Equal(0, CpuDescription.DecodeCache(0, 0, 0).Type);
    }

    [Fact]
    public void This_machine_reports_what_the_runtime_sees()
    {
        var cpu = CpuDescription.Current;
        Assert.Equal(System.Runtime.Intrinsics.X86.Avx512F.IsSupported, cpu.Avx512);
        if (!System.Runtime.Intrinsics.X86.X86Base.IsSupported) return;
        Assert.Contains(cpu.Vendor, new[] { "AuthenticAMD", "GenuineIntel" });
        Assert.True(cpu.L1DataBytes >= 16 << 10 && cpu.L2Bytes >= 256 << 10, cpu.ToString());
        // A timing (about 2 on full-width 512-bit units, 1 on split ones), so only its sanity is
        // asserted: on a busy 2-vCPU VM a best-of-three measurement once gave 0.56.
        if (cpu.Avx512) Assert.True(double.IsFinite(cpu.Fma512Over256) && cpu.Fma512Over256 > 0, cpu.ToString());
        Assert.Equal(cpu.Fma512Over256 >= 1.5, cpu.FullWidth512);
    }

    [Theory]
    [InlineData(48 << 10, 2 << 20, 256, 204, 1024)]   // Sapphire Rapids: 48 KB L1d, 2 MB L2
    [InlineData(48 << 10, 1 << 20, 256, 102, 512)]    // Zen 5: 48 KB, 1 MB
    [InlineData(32 << 10, 1 << 20, 256, 102, 512)]    // Zen 4: 32 KB, 1 MB
    [InlineData(8 << 10, 256 << 10, 128, 48, 256)]    // a small core: blocks shrink with the caches
    public void Cache_blocks_follow_the_cache_sizes(int l1, int l2, int kBlock, int rowBlock, int columnBlock)
    {
        var cpu = new CpuDescription("GenuineIntel", 6, 0x8F, 8, "test", l1, l2, 0, Avx512: false, Avx2Fma: true);
        var avx2 = KernelPlan.For(cpu, cores: 2);
        Assert.Equal(SimdPath.Avx2, avx2.Path);
        Assert.Equal(16, avx2.TileColumns);
        Assert.Equal((kBlock, rowBlock), (avx2.KBlock, avx2.RowBlock));
        Assert.Equal(0, avx2.RowBlock % avx2.TileRows);
        Assert.Equal(0, avx2.ColumnBlock % avx2.TileColumns);
        Assert.Equal(columnBlock, avx2.ColumnBlock);
        Assert.Equal(2, avx2.Threads);
    }

    [Fact]
    public void Avx512_plan_has_an_eight_row_tile_and_row_blocks_of_whole_tiles()
    {
        var cpu = new CpuDescription("AuthenticAMD", 25, 0x11, 0, "test", 32 << 10, 1 << 20, 0, Avx512: true, Avx2Fma: true);
        var plan = KernelPlan.For(cpu, cores: 2);
        Assert.Equal((SimdPath.Avx512, 8, 32), (plan.Path, plan.TileRows, plan.TileColumns));
        Assert.Equal(96, plan.RowBlock);
        Assert.Contains("8x32 tile (16 accumulators", plan.Reasons);
        Assert.Equal(6, Gemm.TileRowsOf(SimdPath.Avx2));
    }

    [Fact]
    public void Plan_without_avx2_takes_the_portable_path()
    {
        var plan = KernelPlan.For(new CpuDescription("unknown", 0, 0, 0, "test", 0, 0, 0, Avx512: false, Avx2Fma: false), cores: 1);
        Assert.Equal(SimdPath.Portable, plan.Path);
        Assert.Contains("L1d 32 KB", plan.Reasons);
    }
}
