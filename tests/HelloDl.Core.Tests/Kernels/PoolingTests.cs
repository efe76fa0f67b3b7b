using HelloDl.Kernels;

namespace HelloDl.Tests.Kernels;

public sealed class PoolingTests
{
    [Theory]
    [InlineData(26, 26)]   // hello-dl's first pooling: 13 windows a row, eight of them vectorised
    [InlineData(11, 11)]   // ceil mode: the last window of a row and of the plane is cut by the edge
    [InlineData(4, 4)]
    [InlineData(5, 33)]
    [InlineData(1, 1)]
    public void Maxima_without_winners_match_the_maxima_found_with_them(int height, int width)
    {
        var random = new Random(height * 100 + width);
        int planes = 3, outHeight = (height + 1) / 2, outWidth = (width + 1) / 2;
        var window = new PoolGeometry(2, 2, outHeight, outWidth);
        var x = Enumerable.Range(0, planes * height * width).Select(_ => random.NextSingle() * 2 - 1).ToArray();
        var withWinners = new float[planes * window.Positions];
        var argmax = new float[withWinners.Length];
        var valuesOnly = new float[withWinners.Length];
        Pooling.MaxForward(x, withWinners, argmax, planes, height, width, window);
        Pooling.MaxForward(x, valuesOnly, null, planes, height, width, window);
        Assert.Equal(withWinners, valuesOnly);
        // And both are the window maxima, the winner pointing at one.
        for (int p = 0; p < planes; p++)
            for (int oy = 0; oy < outHeight; oy++)
                for (int ox = 0; ox < outWidth; ox++)
                {
                    float max = float.MinValue;
                    for (int y = 2 * oy; y < Math.Min(2 * oy + 2, height); y++)
                        for (int xx = 2 * ox; xx < Math.Min(2 * ox + 2, width); xx++) max = Math.Max(max, x[p * height * width + y * width + xx]);
                    int o = p * window.Positions + oy * outWidth + ox;
                    Assert.Equal(max, valuesOnly[o]);
                    Assert.Equal(max, x[p * height * width + (int)argmax[o]]);
                }
    }
}
