using System.Text.Json;
using HelloDl.Data;
using HelloDl.Inference;
using HelloDl.Nn;
using HelloDl.Serialization;
using HelloDl.Training;
using Microsoft.ML.OnnxRuntime;
using Xunit.Abstractions;

namespace HelloDl.Tests.Serialization;

/// <summary>
/// Exported graphs run in ONNX Runtime (Microsoft's, not ours) as the model runs in HelloDl: the
/// same top-1 label on all 10,000 MNIST test images and every probability within 1e-4.
/// </summary>
public sealed class OnnxExportTests(ITestOutputHelper output)
{
    const float Tolerance = 1e-4f;

    /// <summary>A model trained for one epoch (on part of MNIST for the CNN), so its answers are confident and its weights not random.</summary>
    static Model Trained(Architecture architecture, ImageDataset train, float temperature)
    {
        var model = Model.Create(architecture, train.ClassNames, seed: 3);
        new Trainer(model, new TrainingOptions { Seed = 3 }).TrainEpoch(train);
        model.Temperature = temperature;
        return model;
    }

    public static TheoryData<Architecture, int, float> Models => new()
    {
        { Architecture.Linear, 10, 1f },
        { Architecture.Linear, 2, 1.5f },   // "sign decides": one score, logits [0, s]
        { Architecture.Mlp, 10, 1.3f },
        { Architecture.Cnn, 10, 1f },
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void Onnx_runtime_gives_the_same_labels_and_probabilities_on_all_test_images(Architecture architecture, int classes, float temperature)
    {
        var (train, test) = classes == 2
            ? (MnistData.Train.WithClasses("3", "7"), MnistData.Test.WithClasses("3", "7"))
            : (architecture == Architecture.Cnn ? MnistData.Train.Select(Enumerable.Range(0, 12_000).ToArray()) : MnistData.Train, MnistData.Test);
        var model = Trained(architecture, train, temperature);
        using var session = new InferenceSession(OnnxExport.ToBytes(model));

        int differentLabels = 0, images = 0;
        float largestDifference = 0;
        foreach (var batch in DatasetPrediction.Batches(model, test))
        {
            float[] onnx = Run(session, test, batch.First, batch.Count, model.ClassNames.Count);
            for (int i = 0; i < batch.Count; i++)
            {
                var ours = batch.Row(i);
                var theirs = onnx.AsSpan(i * classes, classes);
                for (int c = 0; c < classes; c++) largestDifference = Math.Max(largestDifference, Math.Abs(ours[c] - MathF.Exp(theirs[c])));
                if (ArgMax(ours) != ArgMax(theirs)) differentLabels++;
            }
            images += batch.Count;
        }
        output.WriteLine($"{architecture} ({classes} classes, temperature {temperature}): {images:N0} images, {differentLabels} different labels, largest probability difference {largestDifference:E2}");
        Assert.Equal(test.Count, images);
        Assert.Equal(0, differentLabels);
        Assert.InRange(largestDifference, 0, Tolerance);
    }

    /// <summary>Log-probabilities [count, classes] from ONNX Runtime for the data set's images, as pixels 0..1.</summary>
    static float[] Run(InferenceSession session, ImageDataset data, int first, int count, int classes)
    {
        var pixels = new float[count * 784];
        for (int i = 0; i < count; i++)
        {
            var image = data.GetPixels(first + i);
            for (int p = 0; p < 784; p++) pixels[i * 784 + p] = image[p] / 255f;
        }
        using var input = OrtValue.CreateTensorValueFromMemory(pixels, [count, 1, 28, 28]);
        using var outputs = session.Run(new RunOptions(), [OnnxExport.InputName], [input], [OnnxExport.OutputName]);
        var shape = outputs[0].GetTensorTypeAndShape().Shape;
        Assert.Equal([count, classes], shape);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }

    [Fact]
    public void The_graph_names_its_input_output_classes_and_producer()
    {
        var model = Model.Create(Architecture.Cnn, ["a", "b", "c"], seed: 1);
        model.TrainingSummary = "a test";
        using var session = new InferenceSession(OnnxExport.ToBytes(model));

        var input = Assert.Single(session.InputMetadata);
        Assert.Equal(OnnxExport.InputName, input.Key);
        Assert.Equal([-1, 1, 28, 28], input.Value.Dimensions);
        Assert.Equal(typeof(float), input.Value.ElementType);
        var result = Assert.Single(session.OutputMetadata);
        Assert.Equal(OnnxExport.OutputName, result.Key);
        Assert.Equal([-1, 3], result.Value.Dimensions);

        var metadata = session.ModelMetadata;
        Assert.Equal("HelloDl", metadata.ProducerName);
        Assert.Equal(["a", "b", "c"], JsonSerializer.Deserialize<string[]>(metadata.CustomMetadataMap["class_names"])!);
        Assert.Equal("Cnn", metadata.CustomMetadataMap["architecture"]);
        Assert.Equal("a test", metadata.CustomMetadataMap["training_summary"]);
        Assert.DoesNotContain(ModelFile.ChecksumKey, metadata.CustomMetadataMap.Keys);
    }

    [Fact]
    public void Saving_writes_the_same_bytes_atomically_and_leaves_no_temporary_file()
    {
        using var folder = new TempFolder();
        var model = Model.Create(Architecture.Mlp, ["0", "1"], seed: 2);
        string path = Path.Combine(folder.Path, "model.onnx");
        File.WriteAllText(path, "an older file");
        OnnxExport.Save(model, path);
        Assert.Equal(OnnxExport.ToBytes(model), File.ReadAllBytes(path));
        Assert.Equal(["model.onnx"], Directory.GetFiles(folder.Path).Select(Path.GetFileName));
    }
}
