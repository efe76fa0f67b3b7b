using HelloDl.Imaging;
using HelloDl.Nn;

namespace HelloDl.Inference;

/// <summary>One character read from a line of handwriting.</summary>
public sealed class CharacterResult
{
    public string Path { get; init; } = "";
    /// <summary>Line number, from 1 at the top.</summary>
    public int Line { get; init; }
    /// <summary>Position in the line, from 1 at the left.</summary>
    public int Index { get; init; }
    /// <summary>The character's box in the image, in pixels.</summary>
    public int X { get; init; }
    public int Y { get; init; }
    public int Width { get; init; }
    public int Height { get; init; }
    public string Label { get; init; } = "";
    public float Confidence { get; init; }
    public bool IsConfident { get; init; }
    public IReadOnlyList<Candidate> Alternatives { get; init; } = [];
    public override string ToString() => $"{System.IO.Path.GetFileName(Path)} line {Line} #{Index}: {Label} ({Confidence:P1})";
}

/// <summary>The text of one line, with how sure the model is of it.</summary>
public sealed class LineResult
{
    public string Path { get; init; } = "";
    public int Line { get; init; }
    public string Text { get; init; } = "";
    /// <summary>The least confident character's confidence.</summary>
    public float Confidence { get; init; }
    /// <summary>True when every character is confident.</summary>
    public bool IsConfident { get; init; }
    public IReadOnlyList<CharacterResult> Characters { get; init; } = [];
    public override string ToString() => Text;
}

/// <summary>Reads lines of handwritten characters: segmentation, then one batch through the model.</summary>
public static class LineReader
{
    public static IReadOnlyList<CharacterResult> Read(Model model, LuminanceImage image, string path, float minimumConfidence = Classifier.DefaultMinimumConfidence)
    {
        var boxes = LineSegmenter.Segment(InkFinder.Find(image));
        var results = Classifier.Classify(model, boxes.Select(b => new ClassifierInput(b.Image, path)).ToList(), minimumConfidence);
        return boxes.Select((b, i) => new CharacterResult
        {
            Path = path, Line = b.Line, Index = b.Index, X = b.X, Y = b.Y, Width = b.Width, Height = b.Height,
            Label = results[i].Label, Confidence = results[i].Confidence, IsConfident = results[i].IsConfident, Alternatives = results[i].Alternatives,
        }).ToList();
    }

    public static IReadOnlyList<LineResult> ToLines(IReadOnlyList<CharacterResult> characters) =>
        characters.GroupBy(c => (c.Path, c.Line)).Select(g => new LineResult
        {
            Path = g.Key.Path, Line = g.Key.Line, Text = string.Concat(g.OrderBy(c => c.Index).Select(c => c.Label)),
            Confidence = g.Min(c => c.Confidence), IsConfident = g.All(c => c.IsConfident), Characters = g.OrderBy(c => c.Index).ToList(),
        }).ToList();
}
