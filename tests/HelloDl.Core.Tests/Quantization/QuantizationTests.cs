using HelloDl.Data;
using HelloDl.Inference;
using HelloDl.Kernels;
using HelloDl.Nn;
using HelloDl.Quantization;
using HelloDl.Serialization;
using HelloDl.Tests.Kernels;
using HelloDl.Training;
using Xunit.Abstractions;

namespace HelloDl.Tests.Quantization;

/// <summary>Models trained once for the quantisation tests: an MLP on all of MNIST, a CNN on part of it.</summary>
public sealed class QuantizationModels
{
    public QuantizationModels()
    {
        Mlp = Train(Architecture.Mlp, MnistData.Train);
        Cnn = Train(Architecture.Cnn, MnistData.Train.Select(Enumerable.Range(0, 6_000).ToArray()));
        Calibration = MnistData.Train.Select(Enumerable.Range(50_000, 10_000).ToArray(), "mnist-train-tail");
    }

    static Model Train(Architecture architecture, ImageDataset train)
    {
        var model = Model.Create(architecture, train.ClassNames, seed: 1);
        new Trainer(model, new TrainingOptions()).TrainEpoch(train);
        model.Temperature = 1.2f;
        return model;
    }

    public Model Mlp { get; }
    public Model Cnn { get; }
    public ImageDataset Calibration { get; }
}

[Collection(nameof(GlobalKernelSettings))]
public sealed class QuantizationTests(QuantizationModels models, ITestOutputHelper output) : IClassFixture<QuantizationModels>
{
    static float[] Probabilities(Model model, ImageDataset data)
    {
        var all = new List<float>();
        foreach (var batch in DatasetPrediction.Batches(model, data)) all.AddRange(batch.Probabilities.ToArray());
        return [.. all];
    }

    [Fact]
    public void Int8_mlp_stays_within_0_2_points_of_float_and_4_bit_within_1_point()
    {
        double single = Evaluator.Evaluate(models.Mlp, MnistData.Test).Accuracy;
        double int8 = Evaluator.Evaluate(Quantizer.Quantize(models.Mlp, models.Calibration, 8), MnistData.Test).Accuracy;
        double int4 = Evaluator.Evaluate(Quantizer.Quantize(models.Mlp, models.Calibration, 4), MnistData.Test).Accuracy;
        output.WriteLine($"MLP on MNIST test: float {single:P2}, int8 {int8:P2}, 4-bit {int4:P2}");
        Assert.True(single - int8 <= 0.002, $"int8 lost {100 * (single - int8):F2} points");
        Assert.True(single - int4 <= 0.01, $"4-bit lost {100 * (single - int4):F2} points");
    }

    [Fact]
    public void Every_int8_path_gives_the_same_probabilities_bit_for_bit()
    {
        var quantized = Quantizer.Quantize(models.Cnn, models.Calibration, 8);
        var images = MnistData.Test.Select(Enumerable.Range(0, 600).ToArray());
        var saved = Int8Gemm.Path;
        try
        {
            Int8Gemm.Path = Int8Path.Scalar;
            var reference = Probabilities(quantized, images);
            foreach (var path in Enum.GetValues<Int8Path>().Where(Int8Gemm.IsSupported))
            {
                Int8Gemm.Path = path;
                Assert.Equal(reference, Probabilities(quantized, images));
                output.WriteLine($"{path}: the same {reference.Length:N0} probabilities as Scalar");
            }
        }
        finally { Int8Gemm.Path = saved; }
    }

    [Theory]
    [InlineData(8, 3.8)]
    [InlineData(4, 7.0)]
    public void A_quantised_model_file_is_smaller_and_loads_to_the_same_answers(int bits, double smallerBy)
    {
        using var folder = new TempFolder();
        var quantized = Quantizer.Quantize(models.Cnn, models.Calibration, bits);
        string floatPath = folder.File("float.safetensors"), quantizedPath = folder.File($"int{bits}.safetensors");
        ModelFile.Save(models.Cnn, floatPath);
        ModelFile.Save(quantized, quantizedPath);
        double ratio = (double)new FileInfo(floatPath).Length / new FileInfo(quantizedPath).Length;
        output.WriteLine($"{bits}-bit CNN file: {new FileInfo(quantizedPath).Length:N0} bytes, float {new FileInfo(floatPath).Length:N0}: {ratio:F2}x smaller");
        Assert.True(ratio >= smallerBy, $"only {ratio:F2}x smaller");

        var loaded = ModelFile.Load(quantizedPath);
        Assert.Equal(bits, loaded.Quantized!.Bits);
        Assert.Equal(quantized.Quantized!.Calibration, loaded.Quantized.Calibration);
        Assert.Equal(1.2f, loaded.Temperature);
        var images = MnistData.Test.Select(Enumerable.Range(0, 500).ToArray());
        Assert.Equal(Probabilities(quantized, images), Probabilities(loaded, images));
        Assert.Equal(quantized.Values, loaded.Values);
    }

    [Fact]
    public void Damage_to_the_integer_weights_is_caught_by_the_checksum()
    {
        using var folder = new TempFolder();
        string path = folder.File("int8.safetensors");
        ModelFile.Save(Quantizer.Quantize(models.Mlp, models.Calibration, 8), path);
        var bytes = File.ReadAllBytes(path);
        bytes[^5000] ^= 0x10;
        File.WriteAllBytes(path, bytes);
        Assert.Equal(ModelFileErrorIds.Corrupt, Assert.Throws<ModelFileException>(() => ModelFile.Load(path)).ErrorId);
    }

    [Fact]
    public void Quantising_refuses_what_it_cannot_do_and_quantised_models_do_not_train()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Quantizer.Quantize(models.Mlp, models.Calibration, 5));
        Assert.Throws<ArgumentException>(() => Quantizer.Quantize(models.Mlp, models.Calibration.Select([]), 8));
        var quantized = Quantizer.Quantize(models.Mlp, models.Calibration.Select(Enumerable.Range(0, 100).ToArray()), 8);
        Assert.Equal("mnist-train-tail: 100 images", quantized.Quantized!.Calibration);
        Assert.Throws<ArgumentException>(() => Quantizer.Quantize(quantized, models.Calibration, 8));
        Assert.Equal("model", Assert.Throws<ArgumentException>(() => new Trainer(quantized, new TrainingOptions())).ParamName);
        Assert.EndsWith("8-bit", quantized.ToString());
        var diverged = Model.Create(Architecture.Mlp, models.Mlp.ClassNames, seed: 1);
        diverged.Values[5] = float.NaN;
        Assert.Equal("model", Assert.Throws<ArgumentException>(() => Quantizer.Quantize(diverged, models.Calibration, 8)).ParamName);
    }

    [Fact]
    public void Equal_population_puts_a_sixteenth_of_the_weights_on_each_level_at_their_mean()
    {
        var random = new Random(3);
        var weights = Enumerable.Range(0, 1600).Select(_ => (float)(random.NextDouble() * random.NextDouble() - 0.2)).ToArray();
        var fourBit = QuantizedLayer.EqualPopulation(weights);
        var expanded = QuantizedLayer.Expand(fourBit, weights.Length);
        var sorted = weights.Order().ToArray();
        for (int level = 0; level < 16; level++)
        {
            Assert.Equal(100, expanded.Count(v => v == fourBit.Codebook[level]));
            Assert.Equal(sorted.Skip(level * 100).Take(100).Average(), fourBit.Codebook[level], 1e-5);
        }
        Assert.True(fourBit.Codebook.SequenceEqual(fourBit.Codebook.Order()));
    }

    [Fact]
    public void The_seven_bit_codes_cover_the_calibrated_range_and_zero()
    {
        foreach (var range in new[] { new ActivationRange(-0.4242f, 2.8215f), new ActivationRange(0.5f, 3f), new ActivationRange(-2f, -1f), new ActivationRange(0, 0) })
        {
            Assert.InRange(range.ZeroPoint, 0, 127);
            Assert.True(range.Scale * (127 - range.ZeroPoint) >= MathF.Max(range.Max, 0) - range.Scale / 2);
            Assert.True(range.Scale * (0 - range.ZeroPoint) <= MathF.Min(range.Min, 0) + range.Scale / 2);
        }
    }
}
