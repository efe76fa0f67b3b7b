using System.Management.Automation;
using HelloDl.Data;
using HelloDl.Nn;
using HelloDl.Text;

namespace HelloDl.PowerShell.Cmdlets;

/// <summary>
/// New-HelloModel: one of hello-dl's networks, freshly initialised, or (with -From) a copy of a
/// trained model's layers to fine-tune on one's own classes.
/// </summary>
[Cmdlet(VerbsCommon.New, "HelloModel", DefaultParameterSetName = FromDatasetSet)]
[OutputType("HelloDl.Nn.Model")]
public sealed class NewHelloModelCommand : HelloCmdlet
{
    const string FromDatasetSet = "FromDataset";
    const string FromNamesSet = "FromNames";
    const string CopySet = "Copy";
    const string LanguageModelSet = "LanguageModel";

    /// <summary>Required unless -From gives it.</summary>
    [Parameter(Position = 0, ParameterSetName = FromDatasetSet)]
    [Parameter(Position = 0, ParameterSetName = FromNamesSet)]
    [Parameter(Position = 0, ParameterSetName = LanguageModelSet)]
    public Architecture? Architecture { get; set; }

    /// <summary>NextCharacter: a Gru language model over the 256 byte values, for Get-HelloText (no classes needed).</summary>
    [Parameter(Mandatory = true, ParameterSetName = LanguageModelSet)]
    public Objective Objective { get; set; }

    /// <summary>Bytes a Gru reads of each document (a classifier) or per training window (a language model).</summary>
    [Parameter(ParameterSetName = FromDatasetSet)]
    [Parameter(ParameterSetName = FromNamesSet)]
    [Parameter(ParameterSetName = LanguageModelSet)]
    [ValidateRange(2, 65536)]
    public int? SequenceLength { get; set; }

    /// <summary>A trained model whose layers the new one starts from; its output layer is kept when the classes are the same.</summary>
    [Parameter(ParameterSetName = FromDatasetSet)]
    [Parameter(ParameterSetName = FromNamesSet)]
    [Parameter(Mandatory = true, ParameterSetName = CopySet)]
    [ValidateNotNull]
    public Model? From { get; set; }

    /// <summary>Take the class names from this data set.</summary>
    [Parameter(Mandatory = true, ParameterSetName = FromDatasetSet, ValueFromPipeline = true)]
    [ValidateNotNull]
    public Dataset? ClassesFrom { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = FromNamesSet)]
    [ValidateCount(2, 1000)]
    [ValidateNotNullOrEmpty]
    public string[]? ClassNames { get; set; }

    /// <summary>Width of the Mlp's first hidden layer (hello-dl: 128), of the TextNgram's hidden layer (32) or of the Gru's layers (128; hello-dl: 256).</summary>
    [Parameter]
    [ValidateRange(1, 65536)]
    public int? HiddenSize { get; set; }

    /// <summary>Fixes the initial weights.</summary>
    [Parameter]
    public int Seed { get; set; } = 1;

    protected override void ProcessRecord()
    {
        var names = ClassesFrom?.ClassNames ?? ClassNames ?? From?.ClassNames ?? [];
        if (From is not null && Architecture is { } asked && asked != From.Architecture)
            ThrowTerminatingError(new ErrorRecord(new ArgumentException($"-From is a {From.Architecture} model, not {asked}; leave out the architecture to copy it."),
                "ArchitectureDoesNotMatch", ErrorCategory.InvalidArgument, Architecture));
        var architecture = From?.Architecture ?? Architecture;
        if (architecture is null)
            ThrowTerminatingError(new ErrorRecord(new ArgumentException("Name an architecture (Linear, Mlp, Cnn, TextNgram or Gru), or a trained model with -From."),
                "ArchitectureMissing", ErrorCategory.InvalidArgument, null));
        if (ParameterSetName == LanguageModelSet && (architecture != Nn.Architecture.Gru || Objective != Objective.NextCharacter))
            ThrowTerminatingError(new ErrorRecord(new ArgumentException($"-Objective {Objective} without classes: only a Gru predicts next characters (New-HelloModel Gru -Objective NextCharacter); a classifier needs -ClassesFrom or -ClassNames."),
                "ObjectiveNotSupported", ErrorCategory.InvalidArgument, Objective));
        if (SequenceLength is not null && architecture != Nn.Architecture.Gru)
            WriteWarning($"-SequenceLength applies to the Gru architecture only; the {architecture} model ignores it.");
        if (HiddenSize is not null && (!Architectures.HasHiddenSize(architecture!.Value) || From is not null))
            WriteWarning(From is null ? $"-HiddenSize applies to the Mlp, TextNgram and Gru architectures only; the {architecture} model ignores it." : "-HiddenSize is ignored with -From: the copy has the trained model's sizes.");
        try
        {
            if (From is null)
                WriteObject(Model.Create(architecture!.Value, names, Seed, HiddenSize, sequences: SequenceLength is int length ? new ByteSequences { Length = length } : null,
                    objective: ParameterSetName == LanguageModelSet ? Objective : Objective.Classify));
            else
            {
                var copy = Model.FineTuneFrom(From, names, Seed);
                WriteVerbose(From.ClassNames.SequenceEqual(names) ? $"Copied all layers of {From}." : $"Copied {From}; new output layer {copy.OutputLayer} for {names.Count} classes.");
                WriteObject(copy);
            }
        }
        catch (ArgumentException e)
        {
            ThrowTerminatingError(new ErrorRecord(e, "InvalidClassNames", ErrorCategory.InvalidArgument, names));
        }
    }
}
