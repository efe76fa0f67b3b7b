using HelloDl.Data;
using HelloDl.Imaging;
using HelloDl.Nn;
using HelloDl.Tensors;

namespace HelloDl.Inference;

/// <summary>
/// One input to classify and where it came from: a 28x28 MNIST-style image (null when blank)
/// for an image model, a document's text for a text model.
/// </summary>
public sealed record ClassifierInput(GrayImage? Image, string? Path = null, string? Dataset = null, int? Index = null, string? Actual = null, string? Text = null);

/// <summary>An image of a data set that a model gets wrong, with the model's answer.</summary>
public sealed record Misclassification(Sample Sample, string Predicted, float Confidence);

/// <summary>
/// Classifies batches of MNIST-style images with a model in evaluation mode. The model is only
/// read, so many threads may classify with one model at once.
/// </summary>
public static class Classifier
{
    /// <summary>The default threshold below which an answer is marked not confident.</summary>
    public const float DefaultMinimumConfidence = 0.9f;

    /// <exception cref="ArgumentException">An input the model does not read (an image for a text model, a document for an image model); a language model (ParamName 'model').</exception>
    public static ClassificationResult[] Classify(Model model, IReadOnlyList<ClassifierInput> inputs, float minimumConfidence = DefaultMinimumConfidence)
    {
        RequireClassifier(model);
        if (inputs.FirstOrDefault(i => model.ReadsText ? i.Image is not null : i.Text is not null) is { } misfit)
            throw new ArgumentException($"{misfit.Path ?? "An input"} is {(misfit.Image is null ? "a document" : "an image")}; the {model.Architecture} model reads {model.Input.ItemNoun}.", nameof(inputs));
        var present = inputs.Where(i => (model.ReadsText ? i.Text : i.Image as object) is not null).ToList();
        int classes = model.ClassNames.Count, itemSize = Tensor.Size(model.InputShape);
        var probabilities = new float[Math.Max(1, present.Count) * classes];
        if (present.Count > 0)
        {
            var rows = new float[present.Count * itemSize];
            if (model.Input is ITextEncoder text)
            {
                // Hashing a message costs more than classifying it: all cores share it.
                Parallel.For(0, present.Count, n => text.WriteDocument(present[n].Text!, rows.AsSpan(n * itemSize, itemSize)));
            }
            else
            {
                var images = (ImageInput)model.Input;
                for (int n = 0; n < present.Count; n++)
                {
                    var pixels = present[n].Image!.Pixels;
                    if (pixels.Length != itemSize) throw new ArgumentException("Inputs must be 28x28 images.", nameof(inputs));
                    images.WritePixels(pixels, rows.AsSpan(n * itemSize, itemSize));
                }
            }
            var batch = new Tensor(rows, 0, [present.Count, .. model.InputShape]);
            model.PredictProbabilities(batch, probabilities, model.Temperature);
        }
        var results = new ClassificationResult[inputs.Count];
        int next = 0;
        for (int i = 0; i < inputs.Count; i++)
        {
            var input = inputs[i];
            if (!model.ReadsText && input.Image is null)
            {
                results[i] = new ClassificationResult { Path = input.Path, Dataset = input.Dataset, Index = input.Index, Actual = input.Actual, IsBlank = true };
                continue;
            }
            int rowStart = next++ * classes;
            var top = Enumerable.Range(0, classes).OrderByDescending(c => probabilities[rowStart + c]).Take(Math.Min(3, classes))
                .Select(c => new Candidate(model.ClassNames[c], probabilities[rowStart + c])).ToArray();
            results[i] = new ClassificationResult
            {
                Path = input.Path, Dataset = input.Dataset, Index = input.Index, Actual = input.Actual, Text = input.Path is null ? input.Text : null,
                Label = top[0].Label, Confidence = top[0].Probability, IsConfident = top[0].Probability >= minimumConfidence,
                Alternatives = top,
            };
        }
        return results;
    }

    /// <summary>Refuses a language model, which predicts next bytes, not classes (ParamName 'model').</summary>
    /// <exception cref="ArgumentException">The model is a language model.</exception>
    public static void RequireClassifier(Model model)
    {
        if (model.Objective != Objective.Classify)
            throw new ArgumentException($"{model} predicts next characters, not classes: write text with it (Get-HelloText), or classify with a model made without -Objective.", nameof(model));
    }

    /// <summary>The first <paramref name="maximumCount"/> images of <paramref name="data"/> that the model classifies wrongly, in the data set's order.</summary>
    /// <exception cref="ArgumentException">The data set's class count is not the model's.</exception>
    public static IReadOnlyList<Misclassification> Misclassified(Model model, ImageDataset data, int maximumCount, CancellationToken cancellation = default)
    {
        var wrong = new List<Misclassification>();
        foreach (var batch in DatasetPrediction.Batches(model, data, cancellation: cancellation))
        {
            for (int r = 0; r < batch.Count && wrong.Count < maximumCount; r++)
            {
                var row = batch.Row(r);
                int predicted = Rows.IndexOfMax(row);
                if (predicted != batch.Labels[r]) wrong.Add(new Misclassification(data.GetSample(batch.First + r), model.ClassNames[predicted], row[predicted]));
            }
            if (wrong.Count >= maximumCount) break;
        }
        return wrong;
    }
}
