using HelloDl.Inference;
using HelloDl.Nn;
using HelloDl.Tensors;

namespace HelloDl.Tests.Inference;

public sealed class DatasetPredictionTests
{
    static readonly HelloDl.Data.ImageDataset Images = MnistData.Test.Select(Enumerable.Range(0, 600).ToArray());

    static float[] ProbabilitiesOf(Model model, int index)
    {
        var input = new Tensor(1, 1, 28, 28);
        model.Normalization.Apply(Images.GetPixels(index), input.Data);
        var probabilities = new float[model.ClassNames.Count];
        model.PredictProbabilities(input, probabilities);
        return probabilities;
    }

    [Fact]
    public void Batches_cover_the_data_set_in_order_with_each_images_own_prediction()
    {
        var model = Model.Create(Architecture.Mlp, Images.ClassNames, seed: 3);
        var batches = DatasetPrediction.Batches(model, Images, calibrated: false)
            .Select(b => (b.First, b.Count, Labels: b.Labels.ToArray(), Probabilities: b.Probabilities.ToArray())).ToList();
        Assert.Equal([(0, 512), (512, 88)], batches.Select(b => (b.First, b.Count)));
        Assert.Equal(Enumerable.Range(0, 600).Select(Images.GetLabel), batches.SelectMany(b => b.Labels));
        foreach (int index in new[] { 0, 511, 512, 599 })
        {
            var batch = batches.Last(b => b.First <= index);
            var expected = ProbabilitiesOf(model, index);
            for (int c = 0; c < 10; c++) Assert.Equal(expected[c], batch.Probabilities[(index - batch.First) * 10 + c], 5);
        }
    }

    [Fact]
    public void Calibrated_batches_apply_the_models_temperature()
    {
        var model = Model.Create(Architecture.Mlp, Images.ClassNames, seed: 3);
        model.Temperature = 2.5f;
        var first = DatasetPrediction.Batches(model, Images).First().Row(0).ToArray();
        var raw = ProbabilitiesOf(model, 0);
        TemperatureScaling.Apply(raw, 10, 2.5f);
        for (int c = 0; c < 10; c++) Assert.Equal(raw[c], first[c], 6);
    }

    [Fact]
    public void A_data_set_with_another_class_count_is_refused_before_any_work()
    {
        var model = Model.Create(Architecture.Linear, ["a", "b", "c"]);
        Assert.Throws<ArgumentException>(() => DatasetPrediction.Batches(model, Images));
    }

    [Fact]
    public void Misclassified_gives_the_first_wrong_answers_in_order()
    {
        var model = Model.Create(Architecture.Mlp, Images.ClassNames, seed: 3);   // untrained: mostly wrong
        var wrong = Classifier.Misclassified(model, Images, 40);
        Assert.Equal(40, wrong.Count);
        Assert.Equal(wrong.Select(w => w.Sample.Index).Order(), wrong.Select(w => w.Sample.Index));
        foreach (var w in wrong)
        {
            var probabilities = ProbabilitiesOf(model, w.Sample.Index);
            string predicted = model.ClassNames[Array.IndexOf(probabilities, probabilities.Max())];
            Assert.Equal(predicted, w.Predicted);
            Assert.NotEqual(w.Sample.ClassName, w.Predicted);
        }
        int firstWrong = Enumerable.Range(0, 600).First(i => model.ClassNames[Array.IndexOf(ProbabilitiesOf(model, i), ProbabilitiesOf(model, i).Max())] != Images.ClassNames[Images.GetLabel(i)]);
        Assert.Equal(firstWrong, wrong[0].Sample.Index);
    }
}

public sealed class TemperatureScalingTests
{
    /// <summary>softmax(log p / T), naively in double.</summary>
    static double[] Reference(float[] probabilities, double temperature)
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
    public void Apply_matches_a_naive_reference_and_keeps_the_ranking(double temperature)
    {
        float[] row = [0.6f, 0.25f, 0.1f, 0.05f];
        var scaled = (float[])row.Clone();
        TemperatureScaling.Apply(scaled, 4, (float)temperature);
        var expected = Reference(row, temperature);
        for (int c = 0; c < 4; c++) Assert.Equal(expected[c], scaled[c], 6);
        Assert.Equal([0, 1, 2, 3], scaled.Select((p, i) => (p, i)).OrderByDescending(x => x.p).Select(x => x.i));
    }

    [Fact]
    public void A_far_off_class_keeps_a_finite_log_probability_at_any_temperature()
    {
        float[] logs = [0, TemperatureScaling.Log(0), -40];
        var scaled = new double[3];
        TemperatureScaling.LogSoftmax(logs, 0.05, scaled);
        Assert.All(scaled, v => Assert.True(double.IsFinite(v)));
        Assert.Equal(-40 / 0.05, scaled[2], 6);
        Assert.Equal(1, scaled.Sum(Math.Exp), 9);
    }
}
