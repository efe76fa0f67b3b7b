using HelloDl.Kernels;

namespace HelloDl.Tests.Kernels;

[Collection(nameof(GlobalKernelSettings))]
public sealed class GemmTests
{
    static float[] Random(int length, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
    }

    static float[] Reference(float[] a, bool transA, float[] b, bool transB, float[]? c, int m, int n, int k)
    {
        var result = c is null ? new float[m * n] : (float[])c.Clone();
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int p = 0; p < k; p++)
                    sum += (double)(transA ? a[p * m + i] : a[i * k + p]) * (transB ? b[j * k + p] : b[p * n + j]);
                result[i * n + j] += (float)sum;
            }
        return result;
    }

    public static TheoryData<SimdPath, int, int, int, bool, bool, bool> Cases()
    {
        var data = new TheoryData<SimdPath, int, int, int, bool, bool, bool>();
        // Whole tiles of either path's rows (6, 8), edges of 1-7 rows, (100 rows) a second packed row
        // block; up to 64 rows an untransposed B is read in place, with a packed last panel where it is
        // narrower, by threads splitting the columns or (48 x 40) the rows.
        var shapes = new[] { (1, 1, 1), (5, 7, 3), (6, 32, 256), (8, 32, 256), (13, 33, 257), (15, 40, 17), (64, 128, 784), (70, 40, 600), (20, 300, 200), (3, 100, 9), (100, 33, 40), (48, 40, 300), (32, 676, 9) };
        // The paths this CPU runs: its best and the narrower ones after it (an AVX2-only CPU has no Avx512).
        foreach (var path in Enum.GetValues<SimdPath>().Where(p => p >= Gemm.Best))
            foreach (var (m, n, k) in shapes)
                foreach (bool ta in new[] { false, true })
                    foreach (bool tb in new[] { false, true })
                        data.Add(path, m, n, k, ta, tb, (m + n + k) % 2 == 0);
        return data;
    }

    [Fact]
    public void A_path_this_cpu_cannot_run_is_refused()
    {
        if (Gemm.Best == SimdPath.Avx512) return;   // every path runs here
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Path = SimdPath.Avx512);
        Assert.Equal(Gemm.Best, Gemm.Path);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Matches_a_double_precision_reference(SimdPath path, int m, int n, int k, bool transA, bool transB, bool accumulate)
    {
        var a = Random(m * k, 1); var b = Random(k * n, 2);
        var c = accumulate ? Random(m * n, 3) : new float[m * n];
        var saved = Gemm.Path;
        try
        {
            Gemm.Path = path;
            AssertProduct(a, transA, b, transB, c, m, n, k, accumulate, () => Gemm.Multiply(a, transA, b, transB, c, m, n, k, accumulate), "");
        }
        finally { Gemm.Path = saved; }
    }

    [Theory]
    [InlineData(13, 33, 17)]   // edge tiles on both sides, C packed tight
    [InlineData(7, 63, 32)]    // one short row tile, a 31-wide last panel (the CNN's Winograd width)
    [InlineData(9, 4, 9)]      // narrower than a vector
    public void Edge_tiles_write_nothing_outside_C(int m, int n, int k)
    {
        // The AVX-512 tile stores edges under masks straight into C: a lane or row too many would land
        // in whatever follows C, here guard values that must come through unchanged. (Accumulating alone
        // would not show it: a lane past the edge adds the 0 of B's padding.)
        const int Guard = 64;
        const float Sentinel = -12345.5f;
        var a = Random(m * k, 1); var b = Random(k * n, 2);
        var saved = Gemm.Path;
        try
        {
            foreach (var path in Enum.GetValues<SimdPath>().Where(p => p >= Gemm.Best))
                foreach (bool accumulate in new[] { false, true })
                {
                    Gemm.Path = path;
                    var start = accumulate ? Random(m * n, 3) : new float[m * n];
                    var c = Enumerable.Repeat(Sentinel, Guard).Concat(start).Concat(Enumerable.Repeat(Sentinel, Guard)).ToArray();
                    Gemm.Multiply(a, false, b, false, c.AsSpan(Guard, m * n), m, n, k, accumulate);
                    Assert.All(c.Take(Guard).Concat(c.Skip(Guard + m * n)), v => Assert.True(v == Sentinel, $"{path}: a guard value became {v}"));
                    var expected = Reference(a, false, b, false, accumulate ? start : null, m, n, k);
                    for (int i = 0; i < expected.Length; i++)
                        Assert.True(Math.Abs(expected[i] - c[Guard + i]) <= 1e-4f, $"{path}, accumulate {accumulate}: [{i}] expected {expected[i]}, got {c[Guard + i]}");
                }
        }
        finally { Gemm.Path = saved; }
    }

    /// <summary>Runs <paramref name="multiply"/> (which writes c) and checks c against the double-precision reference.</summary>
    static void AssertProduct(float[] a, bool transA, float[] b, bool transB, float[] c, int m, int n, int k, bool accumulate, Action multiply, string label)
    {
        var expected = Reference(a, transA, b, transB, accumulate ? c : null, m, n, k);
        multiply();
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - c[i]) <= 1e-4f * Math.Max(1, k / 16f), $"{label}[{i}] expected {expected[i]}, got {c[i]}");
    }

    [Theory]
    [InlineData(5, 7, 3, false, false)]
    [InlineData(64, 100, 300, true, false)]    // split by rows across threads
    [InlineData(12, 400, 300, false, true)]    // split by columns
    [InlineData(128, 64, 576, true, true)]
    public void A_left_operand_packed_once_gives_the_same_products(int m, int n, int k, bool transA, bool transB)
    {
        var a = Random(m * k, 6);
        var packed = new float[Gemm.PackedLeftLength(m, k)];
        Gemm.PackLeft(a, transA, m, k, packed);
        for (int round = 0; round < 2; round++)
        {
            var b = Random(k * n, 7 + round);
            var c = Random(m * n, 9 + round);
            bool accumulate = round == 1;
            AssertProduct(a, transA, b, transB, c, m, n, k, accumulate, () => Gemm.MultiplyPacked(packed, m, k, b, transB, c, n, accumulate), $"round {round} ");
        }
    }

    [Theory]
    [InlineData(5, 7, 3, false, false)]
    [InlineData(300, 20, 300, true, false)]    // split by rows across threads, B packed already
    [InlineData(12, 400, 300, false, true)]    // split by columns
    [InlineData(64, 70, 600, true, true)]      // several K blocks
    public void A_right_operand_packed_once_gives_the_same_products_on_every_path(int m, int n, int k, bool transA, bool transB)
    {
        var saved = Gemm.Path;
        try
        {
            foreach (var path in Enum.GetValues<SimdPath>().Where(p => p >= Gemm.Best))
            {
                Gemm.Path = path;
                var b = Random(k * n, 6);
                var packed = new float[Gemm.PackedRightLength(k, n)];
                Gemm.PackRight(b, transB, k, n, packed);
                for (int round = 0; round < 2; round++)
                {
                    var a = Random(m * k, 7 + round);
                    var c = Random(m * n, 9 + round);
                    bool accumulate = round == 1;
                    AssertProduct(a, transA, b, transB, c, m, n, k, accumulate, () => Gemm.MultiplyPackedRight(a, transA, packed, c, m, n, k, accumulate), $"{path} round {round} ");
                }
            }
        }
        finally { Gemm.Path = saved; }
    }

    [Theory]
    [InlineData(200, 500, 300)]   // threads split the rows
    [InlineData(20, 600, 300)]    // threads split the columns
    [InlineData(64, 128, 784)]    // the MLP's first layer: two threads split its columns evenly, three its rows
    [InlineData(64, 40, 600)]     // threads split the rows and read B where it lies
    public void Results_do_not_depend_on_the_thread_count(int m, int n, int k)
    {
        var a = Random(m * k, 4); var b = Random(k * n, 5);
        int saved = Parallelism.MaxThreads;
        float[] With(int threads)
        {
            Parallelism.MaxThreads = threads;
            Assert.Equal(threads > 1, Parallelism.WouldSplit(threads, (long)m * n * k));
            var c = new float[m * n];
            Gemm.Multiply(a, false, b, false, c, m, n, k);
            return c;
        }
        try
        {
            // Fixed counts, not the machine's: on one core, "all processors" would compare one thread with one.
            var one = With(1);
            Assert.Equal(one, With(2));
            Assert.Equal(one, With(3));
        }
        finally { Parallelism.MaxThreads = saved; }
    }
}

/// <summary>Tests that change process-wide kernel settings must not run in parallel with each other.</summary>
[CollectionDefinition(nameof(GlobalKernelSettings), DisableParallelization = true)]
public sealed class GlobalKernelSettings;
