using HelloDl.Kernels;
using HelloDl.Training;

namespace HelloDl.Tests.Training;

[Collection(nameof(HelloDl.Tests.Kernels.GlobalKernelSettings))]
public sealed class CalibrationTests
{
    /// <summary>
    /// Rows of log-probabilities log softmax(z) whose targets were drawn from softmax(z / <paramref name="temperature"/>):
    /// a model that needs exactly that temperature to be honest.
    /// </summary>
    static (float[] LogProbabilities, int[] Targets) Overconfident(double temperature, int rows, int classes, int seed)
    {
        var random = new Random(seed);
        var logProbabilities = new float[rows * classes];
        var targets = new int[rows];
        var z = new double[classes];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < classes; c++) z[c] = 4 * (random.NextDouble() - 0.5) + (c == r % classes ? 4 : 0);
            double logSum = Math.Log(z.Sum(Math.Exp)), drawn = random.NextDouble() * z.Sum(v => Math.Exp(v / temperature));
            for (int c = 0; c < classes; c++) logProbabilities[r * classes + c] = (float)(z[c] - logSum);
            int target = 0;
            for (double cumulative = Math.Exp(z[0] / temperature); cumulative < drawn && target < classes - 1; cumulative += Math.Exp(z[target] / temperature)) target++;
            targets[r] = target;
        }
        return (logProbabilities, targets);
    }

    [Theory]
    [InlineData(0.6)]
    [InlineData(2.0)]
    public void The_fitted_temperature_is_the_one_the_targets_were_drawn_at(double temperature)
    {
        var (logProbabilities, targets) = Overconfident(temperature, 20_000, 10, seed: 7);
        float fitted = Calibration.FitTemperature(logProbabilities, targets, 10);
        Assert.True(Math.Abs(fitted - temperature) < 0.05 * temperature, $"fitted {fitted}, drawn at {temperature}");
    }

    [Fact]
    public void The_loss_and_the_fitted_temperature_do_not_depend_on_the_thread_count()
    {
        // 5,000 rows: pieces of 1,024 and a short last one.
        var (logProbabilities, targets) = Overconfident(1.7, 5_000, 10, seed: 3);
        int saved = Parallelism.MaxThreads;
        try
        {
            var results = new[] { 1, 2, 3 }.Select(threads =>
            {
                Parallelism.MaxThreads = threads;
                return (Loss: Calibration.Nll(logProbabilities, targets, 10, 1.3), Fitted: Calibration.FitTemperature(logProbabilities, targets, 10));
            }).ToArray();
            // Bit for bit: the rows are summed in the same pieces, in the same order, however many threads take them.
            Assert.All(results, r => Assert.Equal(BitConverter.DoubleToInt64Bits(results[0].Loss), BitConverter.DoubleToInt64Bits(r.Loss)));
            Assert.All(results, r => Assert.Equal(results[0].Fitted, r.Fitted));
        }
        finally { Parallelism.MaxThreads = saved; }
    }
}
