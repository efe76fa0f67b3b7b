using HelloDl.Autograd;
using HelloDl.Kernels;
using HelloDl.Tensors;
using HelloDl.Tests.Autograd;

namespace HelloDl.Tests.Kernels;

/// <summary>
/// The Winograd forward against the naive double-precision convolution and against the im2col
/// path, at hello-dl's own layer shapes and at awkward ones (odd outputs, padding, a pooling whose
/// windows are not the tiles). The op catalogue checks its gradients.
/// </summary>
[Collection(nameof(GlobalKernelSettings))]
public sealed class WinogradTests
{
    [Theory]
    [InlineData(5, 32, 64, 13, 0, true)]    // hello-dl's c2: 11x11 outputs in 3x3 tiles, pooled in ceil mode, the last windows clipped
    [InlineData(17, 64, 128, 6, 0, false)]  // hello-dl's c3: 4x4 outputs, one tile; 17 images make a short last group
    [InlineData(3, 8, 5, 7, 1, false)]      // padding, odd output: floor-mode pooling drops the last row and column
    [InlineData(2, 16, 7, 9, 2, true)]
    [InlineData(3, 8, 16, 12, 0, false)]    // 10x10 outputs: the last tiles' second column (row) of windows is past the pooled plane
    [InlineData(2, 8, 3, 5, 0, true)]       // 3x3 outputs, the smallest taken: one tile, mostly past the edge
    public void Forward_matches_the_reference_and_the_im2col_path(int batch, int channels, int outputs, int size, int padding, bool ceil)
    {
        var random = new Random(batch * 1000 + channels + size);
        var x = Values(random, batch * channels * size * size);
        var weight = Values(random, outputs * channels * 9);
        var bias = Values(random, outputs);
        var g = ConvGeometry.For(batch, channels, size, size, 3, 3, 1, padding);
        Assert.True(Winograd.Suits(g));
        var expected = NaiveOps.Conv2d(Tensor.FromArray(x, batch, channels, size, size), Tensor.FromArray(weight, outputs, channels, 3, 3),
            Tensor.FromArray(bias, outputs), 1, padding);
        var window = MaxPool2d.Geometry(g.OutputHeight, g.OutputWidth, 2, 2, ceil);
        var expectedPooled = NaiveOps.MaxPool2d(expected, 2, 2, ceil);

        var plain = Run(x, weight, bias, g, outputs, null, winograd: true);
        AssertClose(expected.Values, plain.Output);
        var pooled = Run(x, weight, bias, g, outputs, window, winograd: true);
        AssertClose(expectedPooled.Values, pooled.Output);
        AssertWinnersAreLargest(expected.Values, expectedPooled.Values, pooled.Winners, g, window);
        // GELU after the pooling, with its derivative kept for the backward.
        var gelu = Run(x, weight, bias, g, outputs, window, winograd: true, gelu: true);
        var geluIm2col = Run(x, weight, bias, g, outputs, window, winograd: false, gelu: true);
        AssertClose(expectedPooled.Values.Select(NaiveOps.Gelu).ToArray(), gelu.Output);
        // GELU's derivative moves by less than the value it is taken at (|GELU''| <= 0.8): bounded at the values' scale.
        AssertClose(geluIm2col.Slopes.Select(s => (double)s).ToArray(), gelu.Slopes, scale: expectedPooled.Values.Max(Math.Abs));
    }

    [Theory]
    [InlineData(5, 32, 64, 13, true, true)]     // hello-dl's c2 (with its GELU): 9 tiles an image, the last vector of them short
    [InlineData(17, 64, 128, 6, false, true)]   // hello-dl's c3: one tile an image
    [InlineData(3, 8, 16, 9, true, false)]
    [InlineData(3, 8, 16, 12, false, true)]     // windows past the pooled plane's edge in the last tiles
    [InlineData(2, 8, 3, 5, true, false)]       // one tile, mostly past the edge
    public void Backward_in_the_tiles_matches_the_im2col_gradients(int batch, int channels, int outputs, int size, bool ceil, bool gelu)
    {
        var random = new Random(batch + channels + size);
        var x = Tensor.Trainable(Values(random, batch * channels * size * size), batch, channels, size, size);
        var weight = Tensor.Trainable(Values(random, outputs * channels * 9), outputs, channels, 3, 3);
        var bias = Tensor.Trainable(Values(random, outputs), outputs);
        Assert.True(Winograd.PoolsTiles(ConvGeometry.For(batch, channels, size, size, 3, 3, 1, 0),
            MaxPool2d.Geometry(size - 2, size - 2, 2, 2, ceil)));

        float[][] Gradients(bool winograd)
        {
            bool saved = Convolution.UseWinograd;
            try
            {
                Convolution.UseWinograd = winograd;
                foreach (var t in new[] { x, weight, bias }) t.Grad.Clear();
                var tape = new Tape();
                var y = Conv2dMaxPool.Apply(tape, x, weight, bias, 1, 0, 2, 2, ceil, gelu);
                tape.BackwardFrom(y, Enumerable.Range(0, y.Length).Select(i => MathF.Sin(i)).ToArray());
                return [x.Grad.ToArray(), weight.Grad.ToArray(), bias.Grad.ToArray()];
            }
            finally { Convolution.UseWinograd = saved; }
        }

        // On every GEMM path this CPU runs: the sixteen products are the GEMM's, transposed operands included.
        var saved = Gemm.Path;
        try
        {
            foreach (var path in Enum.GetValues<SimdPath>().Where(p => p >= Gemm.Best))
            {
                Gemm.Path = path;
                var tiles = Gradients(winograd: true);
                var im2col = Gradients(winograd: false);
                for (int k = 0; k < tiles.Length; k++) AssertClose(im2col[k].Select(v => (double)v).ToArray(), tiles[k]);
            }
        }
        finally { Gemm.Path = saved; }
    }

    [Theory]
    [InlineData(70, true)]   // hello-dl's c2 in Winograd's domain: groups of 8 and 9 images, so some take two products
    [InlineData(70, false)]  // the same through im2col
    [InlineData(3, true)]
    public void A_second_pass_on_the_same_tape_gives_the_first_pass_gradients(int batch, bool winograd)
    {
        // The tape hands the second pass the scratch holding the first pass's partial weight
        // gradients: each group's first product must overwrite its partial, not add to it.
        var random = new Random(batch);
        var x = Tensor.Trainable(Values(random, batch * 32 * 13 * 13), batch, 32, 13, 13);
        var weight = Tensor.Trainable(Values(random, 64 * 32 * 9), 64, 32, 3, 3);
        var bias = Tensor.Trainable(Values(random, 64), 64);
        var tape = new Tape();
        bool saved = Convolution.UseWinograd;
        try
        {
            Convolution.UseWinograd = winograd;
            float[][] Pass()
            {
                foreach (var t in new[] { x, weight, bias }) t.Grad.Clear();
                tape.Reset();
                var y = Conv2dMaxPool.Apply(tape, x, weight, bias, 1, 0, 2, 2, true, true);
                tape.BackwardFrom(y, Enumerable.Range(0, y.Length).Select(i => MathF.Cos(i)).ToArray());
                return [x.Grad.ToArray(), weight.Grad.ToArray(), bias.Grad.ToArray()];
            }
            var first = Pass();
            var second = Pass();
            for (int k = 0; k < first.Length; k++) Assert.Equal(first[k], second[k]);
        }
        finally { Convolution.UseWinograd = saved; }
    }

    [Fact]
    public void Results_do_not_depend_on_the_thread_count()
    {
        var random = new Random(5);
        var g = ConvGeometry.For(37, 32, 13, 13, 3, 3, 1, 0);
        var x = Values(random, 37 * 32 * 13 * 13);
        var weight = Values(random, 64 * 32 * 9);
        var bias = Values(random, 64);
        var window = MaxPool2d.Geometry(11, 11, 2, 2, ceilMode: true);
        int saved = Parallelism.MaxThreads;
        try
        {
            Parallelism.MaxThreads = 1;
            var one = Run(x, weight, bias, g, 64, window, winograd: true);
            foreach (int threads in new[] { 2, 3 })
            {
                Parallelism.MaxThreads = threads;
                var many = Run(x, weight, bias, g, 64, window, winograd: true);
                Assert.Equal(one.Output, many.Output);
                Assert.Equal(one.Winners, many.Winners);
            }
        }
        finally { Parallelism.MaxThreads = saved; }
    }

    [Fact]
    public void Hello_dls_second_and_third_layers_take_it_and_pool_in_their_tiles_but_not_the_first()
    {
        var c1 = ConvGeometry.For(64, 1, 28, 28, 3, 3, 1, 0);
        var c2 = ConvGeometry.For(64, 32, 13, 13, 3, 3, 1, 0);
        var c3 = ConvGeometry.For(64, 64, 6, 6, 3, 3, 1, 0);
        Assert.False(Winograd.Suits(c1));
        Assert.True(Winograd.Suits(c2));
        Assert.True(Winograd.Suits(c3));
        Assert.True(Winograd.PoolsTiles(c2, MaxPool2d.Geometry(11, 11, 2, 2, ceilMode: true)));
        Assert.True(Winograd.PoolsTiles(c3, MaxPool2d.Geometry(4, 4, 2, 2, ceilMode: false)));
        // Floor mode on 11 leaves the last row and column out of every window; 3/2 windows overlap the tiles.
        Assert.False(Winograd.PoolsTiles(c2, MaxPool2d.Geometry(11, 11, 2, 2, ceilMode: false)));
        Assert.False(Winograd.PoolsTiles(c2, MaxPool2d.Geometry(11, 11, 3, 2, ceilMode: false)));
        Assert.False(Winograd.Suits(ConvGeometry.For(1, 32, 13, 13, 3, 3, 2, 0)));
        Assert.False(Winograd.Suits(ConvGeometry.For(1, 32, 13, 13, 5, 5, 1, 0)));
    }

    static (float[] Output, float[] Winners, float[] Slopes) Run(float[] x, float[] weight, float[] bias, ConvGeometry g, int outputs,
        PoolGeometry? window, bool winograd, bool gelu = false)
    {
        bool saved = Convolution.UseWinograd;
        try
        {
            Convolution.UseWinograd = winograd;
            int length = g.Batch * outputs * (window?.Positions ?? g.Positions);
            var y = new float[length];
            var winners = window.HasValue ? new float[length] : [];
            var slopes = gelu ? new float[length] : [];
            Convolution.Forward(x, weight, bias, y, g, outputs, window, window.HasValue ? winners : null, gelu, gelu ? slopes : null);
            return (y, winners, slopes);
        }
        finally { Convolution.UseWinograd = saved; }
    }

    static float[] Values(Random random, int count) => Enumerable.Range(0, count).Select(_ => random.NextSingle() * 2 - 1).ToArray();

    /// <summary>
    /// Within 3e-5 of the largest expected value (or of 1, or of <paramref name="scale"/>): F(4x4, 3x3)'s transforms scale values by up
    /// to 100 before its sums, so its rounding is relative to a layer's scale, not to each value; it
    /// measures up to 6e-6 of it in the forward and 1.2e-5 in the gradients at these shapes.
    /// </summary>
    static void AssertClose(double[] expected, float[] actual, double? scale = null)
    {
        Assert.Equal(expected.Length, actual.Length);
        double tolerance = 3e-5 * Math.Max(1, scale ?? expected.Max(Math.Abs));
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) <= tolerance, $"[{i}] {actual[i]} vs {expected[i]}");
    }

    /// <summary>
    /// Each window's winner lies in the window and holds its largest exact value, to within rounding:
    /// where two outputs are that close, rounding may pick either (1 window of 11,520 at hello-dl's c2 shape).
    /// </summary>
    static void AssertWinnersAreLargest(double[] convolution, double[] pooled, float[] winners, ConvGeometry g, PoolGeometry window)
    {
        double tolerance = 3e-5 * Math.Max(1, convolution.Max(Math.Abs));
        for (int p = 0; p < pooled.Length; p++)
        {
            int plane = p / window.Positions, at = p % window.Positions, winner = (int)winners[p];
            int row = winner / g.OutputWidth, column = winner % g.OutputWidth;
            Assert.True(row / 2 == at / window.OutputWidth && column / 2 == at % window.OutputWidth, $"window {p}: winner {winner} is outside it");
            Assert.True(convolution[plane * g.Positions + winner] >= pooled[p] - tolerance, $"window {p}: winner {winner} is not its largest");
        }
    }
}
