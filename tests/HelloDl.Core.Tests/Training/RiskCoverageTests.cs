using HelloDl.Training;

namespace HelloDl.Tests.Training;

public sealed class RiskCoverageTests
{
    [Theory]
    [InlineData(1, false)]
    [InlineData(2000, false)]
    [InlineData(2000, true)]
    public void Points_and_the_one_percent_threshold_match_their_definitions(int count, bool ties)
    {
        var random = new Random(count);
        // Mostly right and confident, as a trained model's answers are; with ties, few distinct confidences (and 0 and 1 exactly).
        var answers = Enumerable.Range(0, count).Select(_ =>
        {
            float confidence = ties ? random.Next(11) / 10f : 1 - MathF.Pow(random.NextSingle(), 4);
            return (Confidence: confidence, Correct: random.NextSingle() < 0.2 + 0.8 * confidence);
        }).ToList();
        var result = RiskCoverage.From(answers);
        foreach (var point in result.Points)
        {
            var confident = answers.Where(a => a.Confidence >= point.Threshold).ToList();
            Assert.Equal(confident.Count, point.Answered);
            Assert.Equal((double)confident.Count / count, point.Coverage, 12);
            Assert.Equal(confident.Count == 0 ? 0 : (double)confident.Count(a => !a.Correct) / confident.Count, point.ErrorRate, 12);
        }
        // The lowest confidence seen whose answers at or above it are at most 1% wrong.
        var qualifying = answers.Select(a => a.Confidence).Distinct().Where(c =>
        {
            var above = answers.Where(a => a.Confidence >= c).ToList();
            return above.Count(a => !a.Correct) <= 0.01 * above.Count;
        }).ToList();
        double? expected = qualifying.Count == 0 ? null : qualifying.Min();
        Assert.Equal(expected, result.ThresholdForOnePercentError);
        if (expected is double threshold)
            Assert.Equal((double)answers.Count(a => a.Confidence >= threshold) / count, result.CoverageAtOnePercentError, 12);
    }
}
