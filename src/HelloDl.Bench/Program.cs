using System.Diagnostics;
using HelloDl.Kernels;

var shapes = new (int m, int n, int k)[] { (64, 128, 784), (512, 512, 512) };
foreach (int threads in new[] { 1, 2 })
{
    Parallelism.MaxThreads = threads;
    foreach (var (m, n, k) in shapes)
    {
        var a = new float[m * k]; var b = new float[k * n]; var c = new float[m * n];
        new Random(1).NextBytes(new byte[1]);
        for (int i = 0; i < a.Length; i++) a[i] = i % 7 * 0.1f;
        for (int i = 0; i < b.Length; i++) b[i] = i % 5 * 0.1f;
        for (int w = 0; w < 20; w++) Gemm.Multiply(a, false, b, false, c, m, n, k);
        var sw = Stopwatch.StartNew(); int reps = 0;
        while (sw.ElapsedMilliseconds < 500) { Gemm.Multiply(a, false, b, false, c, m, n, k); reps++; }
        double gflops = 2.0 * m * n * k * reps / sw.Elapsed.TotalSeconds / 1e9;
        Console.WriteLine($"{threads}t {m}x{n}x{k}: {gflops:F1} GFLOP/s");
    }
}
