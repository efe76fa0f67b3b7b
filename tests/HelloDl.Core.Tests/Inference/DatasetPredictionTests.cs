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
    public void Calibrated_batches_apply_the_models_temperature_to_every_row()
    {
        var model = Model.Create(Architecture.Mlp, Images.ClassNames, seed: 3);
        model.Temperature = 2.5f;
        var raw = DatasetPrediction.Batches(model, Images, calibrated: false).First().Probabilities.ToArray();
        // Every row: the threads take chunks of the batch, and each must rescale its own.
        var calibrated = DatasetPrediction.Batches(model, Images).First();
        Assert.Equal(512, calibrated.Count);
        for (int r = 0; r < calibrated.Count; r++)
        {
            var expected = HelloDl.Tests.Nn.TemperatureScalingTests.Reference(raw.AsSpan(r * 10, 10).ToArray(), 2.5);
            for (int c = 0; c < 10; c++) Assert.True(Math.Abs(expected[c] - calibrated.Row(r)[c]) < 1e-6, $"row {r} class {c}: {calibrated.Row(r)[c]}, expected {expected[c]}");
        }
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
