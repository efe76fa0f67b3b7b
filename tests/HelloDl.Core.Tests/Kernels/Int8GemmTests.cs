using HelloDl.Kernels;

namespace HelloDl.Tests.Kernels;

/// <summary>Every int8 path this CPU has gives the exact integer product, on ragged shapes too.</summary>
[Collection(nameof(GlobalKernelSettings))]
public sealed unsafe class Int8GemmTests
{
    public static TheoryData<Int8Path> Paths()
    {
        var paths = new TheoryData<Int8Path>();
        foreach (var path in Enum.GetValues<Int8Path>()) if (Int8Gemm.IsSupported(path)) paths.Add(path);
        return paths;
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Every_path_gives_the_exact_product(Int8Path path)
    {
        var random = new Random(7);
        var saved = Int8Gemm.Path;
        try
        {
            Int8Gemm.Path = path;
            foreach (var (m, n, k) in new[] { (4, 1, 1), (8, 10, 9), (12, 64, 288), (4, 128, 576), (16, 37, 30), (20, 80, 784), (4, 16, 4) })
            {
                var a = new byte[m * k];
                var w = new sbyte[n * k];
                for (int i = 0; i < a.Length; i++) a[i] = (byte)random.Next(Int8Gemm.MaxActivation + 1);
                for (int i = 0; i < w.Length; i++) w[i] = (sbyte)random.Next(-127, 128);
                // The extremes, where a 16-bit pairwise sum would overflow if activations were 8-bit.
                a[0] = Int8Gemm.MaxActivation; w[0] = -127;
                var packed = Int8Gemm.Pack(w, n, k);
                var rows = new byte[m * packed.PaddedK];
                for (int i = 0; i < m; i++) a.AsSpan(i * k, k).CopyTo(rows.AsSpan(i * packed.PaddedK));
                var c = new int[m * packed.PaddedN];
                fixed (byte* pa = rows) fixed (int* pc = c) Int8Gemm.Multiply(pa, m, packed, pc);
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < packed.PaddedN; j++)
                    {
                        int expected = 0;
                        if (j < n) for (int kk = 0; kk < k; kk++) expected += a[i * k + kk] * w[j * k + kk];
                        Assert.True(expected == c[i * packed.PaddedN + j], $"{path} {m}x{n}x{k}: c[{i},{j}] = {c[i * packed.PaddedN + j]}, expected {expected}");
                    }
                for (int j = 0; j < n; j++)
                {
                    int sum = 0;
                    for (int kk = 0; kk < k; kk++) sum += w[j * k + kk];
                    Assert.Equal(sum, packed.RowSums[j]);
                }
            }
        }
        finally { Int8Gemm.Path = saved; }
    }

    [Fact]
    public void Weights_of_minus_128_and_row_counts_off_the_tile_are_refused()
    {
        Assert.Throws<ArgumentException>(() => Int8Gemm.Pack([sbyte.MinValue], 1, 1));
        var packed = Int8Gemm.Pack([1], 1, 1);
        var a = new byte[3 * 4];
        var c = new int[3 * 16];
        Assert.Throws<ArgumentException>(() => { fixed (byte* pa = a) fixed (int* pc = c) Int8Gemm.Multiply(pa, 3, packed, pc); });
    }

    [Fact]
    public void The_best_path_is_what_the_CPU_reports()
    {
        Assert.True(Int8Gemm.IsSupported(Int8Gemm.Best));
        if (System.Runtime.Intrinsics.X86.AvxVnni.IsSupported) Assert.Equal(Int8Path.AvxVnni, Int8Gemm.Best);
        else if (System.Runtime.Intrinsics.X86.Avx512BW.IsSupported) Assert.Equal(Int8Path.Avx512BW, Int8Gemm.Best);
        foreach (var path in Enum.GetValues<Int8Path>().Where(p => !Int8Gemm.IsSupported(p)))
            Assert.Throws<PlatformNotSupportedException>(() => Int8Gemm.Path = path);
    }
}
