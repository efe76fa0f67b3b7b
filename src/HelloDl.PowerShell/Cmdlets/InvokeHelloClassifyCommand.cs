using System.Management.Automation;
using HelloDl.Data;
using HelloDl.Imaging;
using HelloDl.Inference;
using HelloDl.Nn;
using HelloDl.Text;

namespace HelloDl.PowerShell.Cmdlets;

/// <summary>
/// Invoke-HelloClassify: classifies image files, samples or whole data sets with an image model,
/// and text files, strings (-Text) or text sets with a text model. Image files are decoded
/// (bounded) and turned into MNIST-style 28x28 inputs, text files read (bounded); all are
/// classified in batches, and a bad file gets one error while the pipeline goes on.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "HelloClassify", DefaultParameterSetName = PathSet)]
[OutputType("HelloDl.Inference.ClassificationResult", "HelloDl.Inference.CharacterResult", "HelloDl.Inference.LineResult")]
public sealed class InvokeHelloClassifyCommand : HelloCmdlet
{
    const string SampleSet = "Sample";
    const string DatasetSet = "Dataset";
    const string TextSet = "Text";
    const int BatchSize = 64;
    readonly List<ClassifierInput> _pending = [];
    readonly List<string> _pendingFiles = [];

    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNull]
    public Model? Model { get; set; }

    [Parameter(Mandatory = true, Position = 1, ValueFromPipeline = true, ParameterSetName = PathSet)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? Path { get; set; }

    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = LiteralPathSet)]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string[]? LiteralPath { get; set; }

    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = SampleSet)]
    [ValidateNotNull]
    public Sample[]? Sample { get; set; }

    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = DatasetSet)]
    [ValidateNotNull]
    public Dataset? Dataset { get; set; }

    /// <summary>Classify the strings given (positionally or by pipeline) as documents, with a text model.</summary>
    [Parameter(Mandatory = true, ParameterSetName = TextSet)]
    public SwitchParameter Text { get; set; }

    /// <summary>With -Text: the documents, e.g. lines from Get-Content.</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipeline = true, ParameterSetName = TextSet)]
    [AllowEmptyString]
    public string[]? InputObject { get; set; }

    /// <summary>Read lines of characters in each image file: one result per character, in reading order.</summary>
    [Parameter(ParameterSetName = PathSet)]
    [Parameter(ParameterSetName = LiteralPathSet)]
    public SwitchParameter Segment { get; set; }

    /// <summary>With -Segment: one result per line, with its text.</summary>
    [Parameter(ParameterSetName = PathSet)]
    [Parameter(ParameterSetName = LiteralPathSet)]
    public SwitchParameter AsText { get; set; }

    /// <summary>With -Segment: write a copy of each image with boxes and labels (a .png file, or a folder for several images).</summary>
    [Parameter(ParameterSetName = PathSet)]
    [Parameter(ParameterSetName = LiteralPathSet)]
    [ValidateNotNullOrEmpty]
    public string? AnnotatedPath { get; set; }

    /// <summary>Answers below this probability are kept but marked not confident.</summary>
    [Parameter]
    [ValidateRange(0.0, 1.0)]
    public float MinimumConfidence { get; set; } = Classifier.DefaultMinimumConfidence;

    protected override void BeginProcessing()
    {
        if (Model!.Objective != Objective.Classify)
            ThrowTerminatingError(new ErrorRecord(new ArgumentException($"{Model} predicts next characters, not classes: write text with Get-HelloText."),
                "ModelIsLanguageModel", ErrorCategory.InvalidArgument, Model));
    }

    protected override void ProcessRecord()
    {
        switch (ParameterSetName)
        {
            case SampleSet:
                if (Model!.ReadsText)
                    ThrowTerminatingError(new ErrorRecord(new ArgumentException($"Samples are images; the {Model.Architecture} model reads documents."),
                        "DatasetKindDoesNotMatch", ErrorCategory.InvalidArgument, Sample));
                foreach (var sample in Sample!) Add(new ClassifierInput(sample.Image, Dataset: sample.Dataset, Index: sample.Index, Actual: sample.ClassName));
                break;
            case DatasetSet:
                try { Model!.RequireReads(Dataset!, nameof(Dataset)); }
                catch (ArgumentException e) { ThrowTerminatingError(new ErrorRecord(e, "DatasetKindDoesNotMatch", ErrorCategory.InvalidArgument, Dataset)); }
                for (int i = 0; i < Dataset!.Count; i++)
                {
                    var actual = Dataset.ClassNames[Dataset.GetLabel(i)];
                    if (Dataset is TextDataset texts) Add(new ClassifierInput(null, texts.GetPath(i), Dataset.Name, i, actual, texts.GetText(i)));
                    else Add(new ClassifierInput(((ImageDataset)Dataset).GetSample(i).Image, Dataset: Dataset.Name, Index: i, Actual: actual));
                }
                break;
            case TextSet:
                RequireTextModel("-Text");
                foreach (var document in InputObject!) Add(new ClassifierInput(null, Text: document));
                break;
            default:
                if ((AsText || AnnotatedPath is not null) && !Segment)
                    ThrowTerminatingError(new ErrorRecord(new ArgumentException("-AsText and -AnnotatedPath go with -Segment."), "SegmentOptionWithoutSegment", ErrorCategory.InvalidArgument, null));
                if (Model!.ReadsText && Segment)
                    ThrowTerminatingError(new ErrorRecord(new ArgumentException($"-Segment finds characters in images; the {Model.Architecture} model reads documents."),
                        "SegmentNeedsImageModel", ErrorCategory.InvalidArgument, Model));
                foreach (var path in ResolveFileSystemPaths(Path ?? LiteralPath, literal: Path is null))
                {
                    if (Model.ReadsText) ReadDocument(path);
                    else if (Segment) ReadLines(path);
                    else if (!IsFolder(path))
                    {
                        // Files are decoded a batch at a time, on all cores.
                        _pendingFiles.Add(path);
                        if (_pendingFiles.Count == BatchSize) ReadPendingFiles();
                    }
                }
                break;
        }
    }

    void RequireTextModel(string parameter)
    {
        if (!Model!.ReadsText)
            ThrowTerminatingError(new ErrorRecord(new ArgumentException($"{parameter} gives documents; the {Model.Architecture} model reads images. Train a TextNgram model for text."),
                "TextNeedsTextModel", ErrorCategory.InvalidArgument, Model));
    }

    /// <summary>A text file as one document; a file too large, binary or unreadable gets an error naming it.</summary>
    void ReadDocument(string path)
    {
        if (IsFolder(path)) return;
        try
        {
            Add(new ClassifierInput(null, Path: path, Text: TextFiles.Read(path)));
        }
        catch (Exception e) when (e is TextSetException or IOException or UnauthorizedAccessException)
        {
            WriteError(TextFileError(path, e));
        }
    }

    void ReadLines(string path)
    {
        if (Load(path) is not { } image) return;
        var characters = LineReader.Read(Model!, image, path, MinimumConfidence);
        if (AnnotatedPath is not null) WriteAnnotated(path, image, characters);
        if (AsText) WriteObject(LineReader.ToLines(characters), enumerateCollection: true);
        else WriteObject(characters, enumerateCollection: true);
    }

    void WriteAnnotated(string path, LuminanceImage image, IReadOnlyList<CharacterResult> characters)
    {
        string target = SessionState.Path.GetUnresolvedProviderPathFromPSPath(AnnotatedPath);
        if (!target.EndsWith(".png", StringComparison.OrdinalIgnoreCase))
        {
            Directory.CreateDirectory(target);
            target = System.IO.Path.Combine(target, System.IO.Path.GetFileNameWithoutExtension(path) + "-boxed.png");
        }
        if (!ShouldProcess(target, $"Write {path} with {characters.Count} boxed characters")) return;
        try
        {
            Pictures.SaveAnnotated(image, characters.Select(c => (c.X, c.Y, c.Width, c.Height, c.Label, c.IsConfident)).ToList(), target);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            WriteError(new ErrorRecord(e, "ImageWriteFailed", ErrorCategory.WriteError, target));
        }
    }

    protected override void EndProcessing()
    {
        ReadPendingFiles();
        Flush();
    }

    void ReadPendingFiles()
    {
        if (_pendingFiles.Count == 0) return;
        var read = CharacterFiles.Read(_pendingFiles);
        _pendingFiles.Clear();
        foreach (var file in read)
        {
            if (file.Error is null) Add(new ClassifierInput(file.Image, Path: file.Path));
            else WriteError(ImageFileError(file.Path, file.Error));
        }
    }

    bool IsFolder(string path)
    {
        if (!Directory.Exists(path)) return false;
        WriteError(new ErrorRecord(new IOException($"{path} is a folder; pass its files (Get-ChildItem {path} | Invoke-HelloClassify)."),
            "PathIsFolder", ErrorCategory.InvalidArgument, path));
        return true;
    }

    /// <summary>The decoded image, or null after writing an error that names the file.</summary>
    LuminanceImage? Load(string path)
    {
        if (IsFolder(path)) return null;
        try
        {
            return ImageReader.Read(path);
        }
        catch (Exception e) when (e is ImageReadException or IOException or UnauthorizedAccessException)
        {
            WriteError(ImageFileError(path, e));
        }
        return null;
    }

    void Add(ClassifierInput input)
    {
        _pending.Add(input);
        if (_pending.Count == BatchSize) Flush();
    }

    void Flush()
    {
        if (_pending.Count == 0) return;
        var results = Classifier.Classify(Model!, _pending, MinimumConfidence);
        _pending.Clear();
        foreach (var result in results) WriteObject(result);
    }
}
