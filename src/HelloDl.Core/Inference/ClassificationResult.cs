namespace HelloDl.Inference;

/// <summary>A candidate class and its probability.</summary>
public sealed record Candidate(string Label, float Probability)
{
    public override string ToString() => $"{Label} ({Probability:P1})";
}

/// <summary>What a model made of one input.</summary>
public sealed class ClassificationResult
{
    /// <summary>The image or text file, when the input was a file.</summary>
    public string? Path { get; init; }
    /// <summary>The document, when the input was a string (Invoke-HelloClassify -Text).</summary>
    public string? Text { get; init; }
    /// <summary>The data set and index, when the input was a sample.</summary>
    public string? Dataset { get; init; }
    public int? Index { get; init; }
    /// <summary>The predicted class name, e.g. '7' or 'a'; empty when the image is blank.</summary>
    public string Label { get; init; } = "";
    /// <summary>The (calibrated) softmax probability of <see cref="Label"/>.</summary>
    public float Confidence { get; init; }
    /// <summary>True when <see cref="Confidence"/> reaches the threshold and the image is not blank.</summary>
    public bool IsConfident { get; init; }
    /// <summary>True when the image holds no ink: nothing was classified.</summary>
    public bool IsBlank { get; init; }
    /// <summary>The three most likely classes, best first.</summary>
    public IReadOnlyList<Candidate> Alternatives { get; init; } = [];
    /// <summary>The known class of a sample from a data set (null for files).</summary>
    public string? Actual { get; init; }
    /// <summary>Whether <see cref="Label"/> equals <see cref="Actual"/>, when known.</summary>
    public bool? IsCorrect => Actual is null ? null : Actual == Label;

    /// <summary>The input in a few words: its file, its data set and index, or the start of its text.</summary>
    public string Input => Path ?? (Text is null ? $"{Dataset}[{Index}]" : Text.Length <= 40 ? Text : Text[..37] + "...");

    public override string ToString() => IsBlank ? $"{Input}: blank" : $"{Input}: {Label} ({Confidence:P1})";
}
