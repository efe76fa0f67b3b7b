using System.Management.Automation;
using HelloDl.Data;

namespace HelloDl.PowerShell.Cmdlets;

/// <summary>
/// Split-HelloDataset: a training and a validation set from one data set, stratified by class
/// (each class split in the same proportion), reproducible from the seed. Writes the training
/// set, then the validation set: <c>$train, $validation = Split-HelloDataset $set</c>.
/// </summary>
[Cmdlet(VerbsCommon.Split, "HelloDataset")]
[OutputType("HelloDl.Data.ImageDataset", "HelloDl.Data.TextDataset")]
public sealed class SplitHelloDatasetCommand : HelloCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [ValidateNotNull]
    public Dataset? Dataset { get; set; }

    /// <summary>The share of each class that goes to the validation set.</summary>
    [Parameter(Position = 1)]
    [ValidateRange(0.01, 0.99)]
    public double ValidationFraction { get; set; } = 0.2;

    /// <summary>Fixes which images go where.</summary>
    [Parameter]
    public int Seed { get; set; } = 1;

    protected override void ProcessRecord()
    {
        var (training, validation) = Dataset!.Partition(ValidationFraction, Seed);
        if (validation.Count == 0) WriteWarning($"{Dataset.Name} has no class with two or more {Dataset.ItemNoun}; the validation set is empty.");
        WriteObject(training);
        WriteObject(validation);
    }
}
