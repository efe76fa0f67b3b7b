using System.Runtime.Intrinsics.X86;
using HelloDl.Autograd;
using HelloDl.Kernels;
using HelloDl.Tensors;

namespace HelloDl.Tests.Kernels;

/// <summary>
/// A first layer's weight gradient summed at the pooling's winners against the product over every
/// output position, at hello-dl's first layer and at awkward shapes. The op catalogue checks the
/// same path against finite differences.
/// </summary>
[Collection(nameof(GlobalKernelSettings))]
public sealed class ConvolutionTests
{
    [Theory]
    [InlineData(64, 1, 32, 3, 1, 28, 2, 2, false, true)]   // hello-dl's first layer: 26x26 outputs, 169 windows (eight at a time and one)
    [InlineData(5, 1, 16, 3, 1, 27, 2, 2, true, false)]    // ceil mode on 25: the last windows cut by the edge
    [InlineData(3, 2, 24, 3, 1, 12, 2, 2, false, true)]    // two channels: six patch rows, two blocks of three
    [InlineData(4, 1, 8, 2, 1, 11, 3, 2, false, false)]    // two taps and two rows (a block that repeats its last row); 3x3 windows
    [InlineData(3, 1, 20, 4, 1, 13, 2, 2, true, true)]     // four taps, a row's full vector
    [InlineData(3, 1, 12, 3, 2, 15, 2, 2, false, false)]   // stride 2
    public void The_weight_gradient_at_the_winners_matches_the_product_over_every_position(int images, int channels, int outputs, int kernel, int stride,
        int size, int poolKernel, int poolStride, bool ceil, bool gelu)
    {
        var random = new Random(images + outputs + size);
        // The images are data (as the network's input is): their gradient is not wanted.
        var x = Tensor.FromArray(Values(random, images * channels * size * size), images, channels, size, size);
        var weight = Tensor.Trainable(Values(random, outputs * channels * kernel * kernel), outputs, channels, kernel, kernel);
        var bias = Tensor.Trainable(Values(random, outputs), outputs);
        var g = ConvGeometry.For(images, channels, size, size, kernel, kernel, stride, 0);
        if (Fma.IsSupported) Assert.True(Convolution.SumsAtWinners(g, outputs, pooled: true, wantInput: false));

        bool saved = Convolution.SumAtWinners;
        try
        {
            var atWinners = Run(x, weight, bias, stride, poolKernel, poolStride, ceil, gelu, sumAtWinners: true, random: new Random(1));
            var everyPosition = Run(x, weight, bias, stride, poolKernel, poolStride, ceil, gelu, sumAtWinners: false, random: new Random(1));
            AssertClose(everyPosition.DWeight, atWinners.DWeight);
            AssertClose(everyPosition.DBias, atWinners.DBias);
        }
        finally { Convolution.SumAtWinners = saved; }
    }

    [Fact]
    public void Layers_whose_input_gradient_is_wanted_or_whose_patch_is_wide_take_the_product()
    {
        var first = ConvGeometry.For(64, 1, 28, 28, 3, 3, 1, 0);
        Assert.False(Convolution.SumsAtWinners(first, 32, pooled: true, wantInput: true));
        Assert.False(Convolution.SumsAtWinners(first, 32, pooled: false, wantInput: false));
        Assert.False(Convolution.SumsAtWinners(first, 8, pooled: true, wantInput: false));     // 9 taps for 8 filters: not narrow
        Assert.False(Convolution.SumsAtWinners(ConvGeometry.For(64, 1, 28, 28, 3, 3, 1, 1), 32, pooled: true, wantInput: false));   // padding
        Assert.False(Convolution.SumsAtWinners(ConvGeometry.For(2, 1, 28, 28, 5, 5, 1, 0), 32, pooled: true, wantInput: false));    // five taps a row
    }

    static (float[] DWeight, float[] DBias) Run(Tensor x, Tensor weight, Tensor bias, int stride, int poolKernel, int poolStride, bool ceil, bool gelu,
        bool sumAtWinners, Random random)
    {
        Convolution.SumAtWinners = sumAtWinners;
        weight.Grad.Clear();
        bias.Grad.Clear();
        var tape = new Tape();
        var y = Conv2dMaxPool.Apply(tape, x, weight, bias, stride, 0, poolKernel, poolStride, ceil, gelu);
        tape.BackwardFrom(y, Values(random, y.Length));
        return (weight.Grad.ToArray(), bias.Grad.ToArray());
    }

    static float[] Values(Random random, int length) => Enumerable.Range(0, length).Select(_ => random.NextSingle() * 2 - 1).ToArray();

    static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = Math.Max(1, expected.Max(Math.Abs));
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-4 * scale, $"[{i}] {actual[i]} where the product gives {expected[i]}");
    }
}
