using HelloDl.Nn;

namespace HelloDl.Tests.Nn;

public sealed class TemperatureScalingTests
{
    /// <summary>softmax(log p / T), naively in double.</summary>
    internal static double[] Reference(float[] probabilities, double temperature)
    {
        var powered = probabilities.Select(p => Math.Pow(p, 1 / temperature)).ToArray();
        double sum = powered.Sum();
        return powered.Select(v => v / sum).ToArray();
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(1.0)]
    [InlineData(1.7)]
    [InlineData(8.0)]
    public void Probabilities_at_a_temperature_match_a_naive_reference_and_keep_the_ranking(double temperature)
    {
        // Two rows, so that a row other than the first is rescaled from its own values.
        float[] rows = [0.6f, 0.25f, 0.1f, 0.05f, 0.05f, 0.15f, 0.7f, 0.1f];
        var scaled = new float[rows.Length];
        TemperatureScaling.ToProbabilities(rows.Select(p => MathF.Log(p)).ToArray(), 4, (float)temperature, scaled);
        for (int r = 0; r < 2; r++)
        {
            var expected = Reference(rows[(r * 4)..(r * 4 + 4)], temperature);
            for (int c = 0; c < 4; c++) Assert.True(Math.Abs(expected[c] - scaled[r * 4 + c]) < 1e-6, $"row {r} class {c}: {scaled[r * 4 + c]}, expected {expected[c]}");
        }
        Assert.Equal([0, 1, 2, 3], scaled[..4].Select((p, i) => (p, i)).OrderByDescending(x => x.p).Select(x => x.i));
    }

    [Fact]
    public void A_log_probability_below_the_floor_counts_as_the_floor()
    {
        // e^-200 is no float: the floor keeps the row's arithmetic finite, and at T = 0.5 the class is still all but impossible.
        var scaled = new float[3];
        TemperatureScaling.ToProbabilities([-200f, MathF.Log(0.5f), MathF.Log(0.5f)], 3, 0.5f, scaled);
        Assert.All(scaled, p => Assert.True(float.IsFinite(p)));
        Assert.Equal(0, scaled[0], 6);
        Assert.Equal(0.5, scaled[1], 6);
    }

    [Fact]
    public void A_far_off_target_gives_a_large_finite_loss_at_any_temperature()
    {
        float[] logs = [0, TemperatureScaling.Log(0), -40];
        var powers = new double[3];
        Assert.Equal(40 / 0.05, TemperatureScaling.NegativeLogLikelihood(logs, 2, 0.05, powers), 6);
        Assert.True(double.IsFinite(TemperatureScaling.NegativeLogLikelihood(logs, 1, 0.05, powers)));
        Assert.Equal(0, TemperatureScaling.NegativeLogLikelihood(logs, 0, 0.05, powers), 9);
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(2.5)]
    public void The_loss_is_minus_the_log_of_the_probability_at_that_temperature(double temperature)
    {
        float[] logs = [MathF.Log(0.6f), MathF.Log(0.3f), MathF.Log(0.1f)];
        var probabilities = new float[3];
        TemperatureScaling.ToProbabilities(logs, 3, (float)temperature, probabilities);
        for (int target = 0; target < 3; target++)
            Assert.Equal(-Math.Log(probabilities[target]), TemperatureScaling.NegativeLogLikelihood(logs, target, temperature, new double[3]), 5);
    }
}
