using System.Management.Automation;
using HelloDl.Data;
using HelloDl.Imaging;
using HelloDl.Inference;
using HelloDl.Nn;

namespace HelloDl.PowerShell.Cmdlets;

/// <summary>
/// Invoke-HelloClassify: classifies image files, samples or whole data sets. Files are decoded
/// (bounded), turned into MNIST-style 28x28 inputs and classified in batches; a bad file gets
/// one error and the pipeline goes on.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "HelloClassify", DefaultParameterSetName = PathSet)]
[OutputType("HelloDl.Inference.ClassificationResult")]
public sealed class InvokeHelloClassifyCommand : HelloCmdlet
{
    const string SampleSet = "Sample";
    const string DatasetSet = "Dataset";
    const int BatchSize = 64;
    readonly List<ClassifierInput> _pending = [];

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
    public ImageDataset? Dataset { get; set; }

    /// <summary>Answers below this probability are kept but marked not confident.</summary>
    [Parameter]
    [ValidateRange(0.0, 1.0)]
    public float MinimumConfidence { get; set; } = Classifier.DefaultMinimumConfidence;

    protected override void ProcessRecord()
    {
        switch (ParameterSetName)
        {
            case SampleSet:
                foreach (var sample in Sample!) Add(new ClassifierInput(sample.Image, Dataset: sample.Dataset, Index: sample.Index, Actual: sample.ClassName));
                break;
            case DatasetSet:
                for (int i = 0; i < Dataset!.Count; i++)
                {
                    var sample = Dataset.GetSample(i);
                    Add(new ClassifierInput(sample.Image, Dataset: sample.Dataset, Index: i, Actual: sample.ClassName));
                }
                break;
            default:
                foreach (var path in ResolveFileSystemPaths(Path ?? LiteralPath, literal: Path is null))
                    if (ReadImage(path) is { } input) Add(input);
                break;
        }
    }

    protected override void EndProcessing() => Flush();

    ClassifierInput? ReadImage(string path)
    {
        if (Directory.Exists(path))
        {
            WriteError(new ErrorRecord(new IOException($"{path} is a folder; pass its files (Get-ChildItem {path} | Invoke-HelloClassify)."),
                "PathIsFolder", ErrorCategory.InvalidArgument, path));
            return null;
        }
        try
        {
            return new ClassifierInput(MnistPreprocessor.ToMnist(ImageReader.Read(path)), Path: path);
        }
        catch (ImageReadException e)
        {
            WriteError(new ErrorRecord(e, e.ErrorId, ErrorCategory.InvalidData, path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            WriteError(new ErrorRecord(e, "ImageFileReadFailed", ErrorCategory.ReadError, path));
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
