using HelloDl.Kernels;

namespace HelloDl.Tests.Kernels;

[Collection(nameof(GlobalKernelSettings))]
public sealed class ParallelismTests
{
    [Fact]
    public void A_thread_limit_lowers_this_threads_count_until_disposed_and_leaves_other_threads_alone()
    {
        int saved = Parallelism.MaxThreads;
        try
        {
            Parallelism.MaxThreads = 3;
            using (Parallelism.LimitThreads(1))
            {
                Assert.Equal(1, Parallelism.MaxThreads);
                Assert.False(Parallelism.WouldSplit(8, long.MaxValue));
                int elsewhere = 0;
                var other = new Thread(() => elsewhere = Parallelism.MaxThreads);
                other.Start();
                other.Join();
                Assert.Equal(3, elsewhere);
                using (Parallelism.LimitThreads(8)) Assert.Equal(3, Parallelism.MaxThreads);   // a limit, never more than the setting
                Assert.Equal(1, Parallelism.MaxThreads);
                // Every piece still runs, on this thread.
                var ran = new int[8];
                Parallelism.For(8, long.MaxValue, piece => ran[piece] = Environment.CurrentManagedThreadId);
                Assert.All(ran, id => Assert.Equal(Environment.CurrentManagedThreadId, id));
            }
            Assert.Equal(3, Parallelism.MaxThreads);
            Assert.Throws<ArgumentOutOfRangeException>(() => Parallelism.LimitThreads(0));
        }
        finally { Parallelism.MaxThreads = saved; }
    }
}
