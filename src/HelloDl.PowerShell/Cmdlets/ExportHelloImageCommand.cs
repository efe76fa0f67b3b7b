using System.Management.Automation;
using HelloDl.Data;
using HelloDl.Imaging;
using HelloDl.Inference;
using HelloDl.Nn;
using HelloDl.Training;

namespace HelloDl.PowerShell.Cmdlets;

/// <summary>
/// Export-HelloImage: PNG pictures where people would rather look than read: samples (one file
/// each, or a labelled grid), a gallery of misclassified images, a model's weights (the linear
/// model's per-class pixel weights, the CNN's first-layer filters), the confusion matrix as a
/// heat map, and training curves.
/// </summary>
[Cmdlet(VerbsData.Export, "HelloImage", SupportsShouldProcess = true, DefaultParameterSetName = SampleSet)]
[OutputType(typeof(FileInfo))]
public sealed class ExportHelloImageCommand : HelloCmdlet
{
    const string SampleSet = "Sample";
    const string WeightsSet = "Weights";
    const string MisclassifiedSet = "Misclassified";
    const string EvaluationSet = "Evaluation";
    const string CurvesSet = "Curves";
    const string BatchCurvesSet = "BatchCurves";
    readonly List<Sample> _samples = [];
    readonly List<EpochResult> _epochs = [];
    readonly List<LoggedBatch> _batches = [];

    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = SampleSet)]
    [ValidateNotNull]
    public Sample[]? Sample { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = WeightsSet)]
    [Parameter(Mandatory = true, ParameterSetName = MisclassifiedSet)]
    [ValidateNotNull]
    public Model? Model { get; set; }

    /// <summary>Draw the model's weights (first layer): what -Model alone draws too.</summary>
    [Parameter(ParameterSetName = WeightsSet)]
    public SwitchParameter Weights { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = MisclassifiedSet)]
    [ValidateNotNull]
    public ImageDataset? Dataset { get; set; }

    /// <summary>Draw the images of -Dataset that -Model gets wrong: what -Model with -Dataset draws too.</summary>
    [Parameter(ParameterSetName = MisclassifiedSet)]
    public SwitchParameter Misclassified { get; set; }

    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = EvaluationSet)]
    [ValidateNotNull]
    public Evaluation? Evaluation { get; set; }

    /// <summary>Epoch objects from Start-HelloTraining: drawn as loss and accuracy curves.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = CurvesSet)]
    [ValidateNotNull]
    public EpochResult[]? Epoch { get; set; }

    /// <summary>Batch rows from Get-HelloTrainingLog -Table Batches: drawn as per-batch loss and accuracy curves.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = BatchCurvesSet)]
    [ValidateNotNull]
    public LoggedBatch[]? Batch { get; set; }

    /// <summary>The PNG file to write; with -Sample and no -Grid, a folder for one file per sample.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string? Path { get; set; }

    /// <summary>With -Sample: one grid picture with a caption under each image.</summary>
    [Parameter(ParameterSetName = SampleSet)]
    public SwitchParameter Grid { get; set; }

    [Parameter(ParameterSetName = SampleSet)]
    [Parameter(ParameterSetName = MisclassifiedSet)]
    [Parameter(ParameterSetName = WeightsSet)]
    [ValidateRange(1, 100)]
    public int Columns { get; set; } = 10;

    /// <summary>Pixels per image pixel.</summary>
    [Parameter]
    [ValidateRange(1, 64)]
    public int Scale { get; set; } = 2;

    /// <summary>With -Misclassified: at most this many images.</summary>
    [Parameter(ParameterSetName = MisclassifiedSet)]
    [ValidateRange(1, 10000)]
    public int MaximumCount { get; set; } = 100;

    /// <summary>With -Sample: light ink on black, as MNIST stores images, instead of dark ink on white paper.</summary>
    [Parameter(ParameterSetName = SampleSet)]
    public SwitchParameter AsStored { get; set; }

    /// <summary>With -Sample: render each sample as a realistic scan or photo (paper, lighting, pen, blur, noise).</summary>
    [Parameter(ParameterSetName = SampleSet)]
    public SwitchParameter Scan { get; set; }

    /// <summary>With -Sample: render all samples as one realistic scan of a handwritten line, left to right, into -Path.</summary>
    [Parameter(ParameterSetName = SampleSet)]
    public SwitchParameter Line { get; set; }

    /// <summary>With -Scan or -Line: makes the rendering repeatable.</summary>
    [Parameter(ParameterSetName = SampleSet)]
    public int? Seed { get; set; }

    Random? _random;
    Random ScanRandom => _random ??= Seed is int seed ? new Random(seed) : new Random();

    protected override void ProcessRecord()
    {
        switch (ParameterSetName)
        {
            case SampleSet when Grid || Line:
                _samples.AddRange(Sample!);
                break;
            case SampleSet:
                string folder = TargetPath();
                if (!Directory.Exists(folder) && ShouldProcess(folder, "Create folder")) Directory.CreateDirectory(folder);
                foreach (var sample in Sample!)
                {
                    string file = System.IO.Path.Combine(folder, $"{sample.Dataset}-{sample.Index}-{Safe(sample.ClassName)}.png");
                    if (Scan)
                        Write(file, $"Write {sample} as a scan", () => ScanSimulator.WriteSingleCharacter(sample.Image, ScanRandom, file));
                    else
                        Write(file, $"Write {sample}", () => Pictures.SaveImage(sample.Image, file, !AsStored, Scale));
                }
                break;
            case CurvesSet:
                _epochs.AddRange(Epoch!);
                break;
            case BatchCurvesSet:
                _batches.AddRange(Batch!);
                break;
            case EvaluationSet:
                Write(TargetPath(), $"Write the confusion matrix of {Evaluation!.Dataset}",
                    path => Pictures.SaveHeatMap(Evaluation.ConfusionMatrix.Counts, Evaluation.ClassNames, path));
                break;
            case WeightsSet:
                WriteWeights();
                break;
            case MisclassifiedSet:
                WriteMisclassified();
                break;
        }
    }

    protected override void EndProcessing()
    {
        if (ParameterSetName == SampleSet && Line && _samples.Count > 0)
            Write(TargetPath(), $"Write a scanned line of {_samples.Count} characters", path =>
                ScanSimulator.WriteLine(_samples.Select(s => s.Image).ToList(), ScanRandom, path));
        if (ParameterSetName == SampleSet && Grid && !Line && _samples.Count > 0)
            Write(TargetPath(), $"Write a grid of {_samples.Count} samples", path =>
                Pictures.SaveGrid(_samples.Select(s => s.Image).ToList(), _samples.Select(s => s.ClassName).ToList(), path, Columns, Scale));
        if (ParameterSetName == CurvesSet && _epochs.Count > 0)
        {
            var series = new List<(string, IReadOnlyList<double>)>
            {
                ("training loss", _epochs.Select(e => e.TrainLoss).ToList()),
                ("training accuracy", _epochs.Select(e => e.TrainAccuracy).ToList()),
            };
            if (_epochs.Any(e => e.ValidationLoss is not null))
            {
                series.Add(("validation loss", _epochs.Select(e => e.ValidationLoss ?? double.NaN).ToList()));
                series.Add(("validation accuracy", _epochs.Select(e => e.ValidationAccuracy ?? double.NaN).ToList()));
            }
            Write(TargetPath(), $"Write training curves of {_epochs.Count} epochs", path => Pictures.SaveCurves(series, path));
        }
        if (ParameterSetName == BatchCurvesSet && _batches.Count > 0)
        {
            var series = new List<(string, IReadOnlyList<double>)>
            {
                ("loss per batch", _batches.Select(b => b.Loss).ToList()),
                ("accuracy per batch", _batches.Select(b => b.Accuracy).ToList()),
                ("learning rate", _batches.Select(b => b.LearningRate).ToList()),
            };
            Write(TargetPath(), $"Write training curves of {_batches.Count} batches", path => Pictures.SaveCurves(series, path, width: 640));
        }
    }

    void WriteWeights()
    {
        var weights = WeightMaps.Of(Model!);
        Write(TargetPath(), $"Write the {weights.Maps.Count} maps of {weights.Parameter}", path =>
            Pictures.SaveSignedMaps(weights.Maps, weights.Rows, weights.Columns, weights.Captions, path, weights.AreFilters ? Math.Max(Scale, 8) : Scale, Columns));
    }

    void WriteMisclassified()
    {
        var data = Dataset!;
        IReadOnlyList<Misclassification> wrong;
        try { wrong = Classifier.Misclassified(Model!, data, MaximumCount); }
        catch (ArgumentException e)
        {
            ThrowTerminatingError(new ErrorRecord(e, "ClassesDoNotMatch", ErrorCategory.InvalidArgument, data));
            return;
        }
        if (wrong.Count == 0)
        {
            WriteWarning($"The model classifies every image of {data.Name} correctly: nothing to draw.");
            return;
        }
        Write(TargetPath(), $"Write {wrong.Count} misclassified images of {data.Name}", path =>
            Pictures.SaveGrid(wrong.Select(w => w.Sample.Image).ToList(), wrong.Select(w => $"{w.Sample.ClassName}->{w.Predicted}").ToList(), path, Columns, Scale,
                Enumerable.Range(0, wrong.Count).ToHashSet()));
    }

    string TargetPath() => SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path);

    void Write(string path, string action, Action<string> draw)
    {
        if (!ShouldProcess(path, action)) return;
        try
        {
            draw(path);
            WriteFileItem(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            WriteError(new ErrorRecord(e, "ImageWriteFailed", ErrorCategory.WriteError, path));
        }
    }

    void Write(string path, string action, Action draw) => Write(path, action, _ => draw());

    static string Safe(string className) => string.Concat(className.Select(c => char.IsLetterOrDigit(c) ? c : '_'));
}
