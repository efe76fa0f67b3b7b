using System.Runtime.Intrinsics.X86;
using HelloDl.Kernels;

namespace HelloDl.Tests.Kernels;

[Collection(nameof(GlobalKernelSettings))]
public sealed class PoolingTests
{
    [Theory]
    [InlineData(26, 26)]   // hello-dl's first pooling: 13 windows a row (AVX2: eight, then five under a mask)
    [InlineData(11, 11)]   // ceil mode: the last window of a row and of the plane is cut by the edge
    [InlineData(4, 4)]
    [InlineData(5, 33)]
    [InlineData(3, 64)]    // two whole sixteen-window steps
    [InlineData(2, 67)]    // three steps, the last one window, cut by the edge
    [InlineData(1, 1)]
    public void Maxima_with_and_without_winners_are_the_window_maxima_and_their_first_position(int height, int width)
    {
        int saved = Pooling.WindowsPerStep;
        try
        {
            // Every path this CPU runs: sixteen windows at a time (AVX-512), eight (AVX2) and one by one.
            Assert.Contains(1, Pooling.WindowsPerStepChoices);
            foreach (int step in Pooling.WindowsPerStepChoices)
            {
                Pooling.WindowsPerStep = step;
                foreach (bool ties in new[] { false, true }) Check(height, width, ties);
            }
        }
        finally { Pooling.WindowsPerStep = saved; }
    }

    [Fact]
    public void Only_the_pooling_paths_this_CPU_runs_are_taken()
    {
        int saved = Pooling.WindowsPerStep;
        try
        {
            Assert.Equal(Pooling.WindowsPerStepChoices[0], saved);
            if (!Avx512F.IsSupported) Assert.Throws<PlatformNotSupportedException>(() => Pooling.WindowsPerStep = 16);
            if (!Avx2.IsSupported) Assert.Throws<PlatformNotSupportedException>(() => Pooling.WindowsPerStep = 8);
            Assert.Throws<ArgumentOutOfRangeException>(() => Pooling.WindowsPerStep = 4);
            Assert.Equal(saved, Pooling.WindowsPerStep);
        }
        finally { Pooling.WindowsPerStep = saved; }
    }

    static void Check(int height, int width, bool ties)
    {
        var random = new Random(height * 100 + width);
        int planes = 3, outHeight = (height + 1) / 2, outWidth = (width + 1) / 2;
        var window = new PoolGeometry(2, 2, outHeight, outWidth);
        // With ties (three levels only), the winner must be the window's first maximum in reading order.
        var x = Enumerable.Range(0, planes * height * width).Select(_ => ties ? random.Next(3) : random.NextSingle() * 2 - 1).ToArray();
        var withWinners = new float[planes * window.Positions];
        var argmax = new float[withWinners.Length];
        var valuesOnly = new float[withWinners.Length];
        Pooling.MaxForward(x, withWinners, argmax, planes, height, width, window);
        Pooling.MaxForward(x, valuesOnly, null, planes, height, width, window);
        Assert.Equal(withWinners, valuesOnly);
        for (int p = 0; p < planes; p++)
            for (int oy = 0; oy < outHeight; oy++)
                for (int ox = 0; ox < outWidth; ox++)
                {
                    float max = float.MinValue;
                    int first = -1;
                    for (int y = 2 * oy; y < Math.Min(2 * oy + 2, height); y++)
                        for (int xx = 2 * ox; xx < Math.Min(2 * ox + 2, width); xx++)
                            if (x[p * height * width + y * width + xx] > max) (max, first) = (x[p * height * width + y * width + xx], y * width + xx);
                    int o = p * window.Positions + oy * outWidth + ox;
                    Assert.Equal(max, valuesOnly[o]);
                    Assert.Equal(first, (int)argmax[o]);
                }
    }
}
