using HelloDl.Kernels;

namespace HelloDl.Tests.Kernels;

// Alone: the compilation waits for each method while other tests call kernels.
[Collection(nameof(GlobalKernelSettings))]
public sealed class KernelWarmupTests
{
    [Fact]
    public async Task Warm_up_compiles_every_kernel_once_per_process()
    {
        var first = KernelWarmup.Start();
        Assert.Same(first, KernelWarmup.Start());
        int compiled = await first.WaitAsync(TimeSpan.FromMinutes(2));
        // The GEMM micro-kernels, packing, convolution, pooling, activations and the optimizers' loops at least.
        Assert.True(compiled >= 20, $"{compiled} methods compiled");
    }
}
