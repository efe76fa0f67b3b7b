using System.Management.Automation;
using HelloDl.Data;

namespace HelloDl.PowerShell.Cmdlets;

/// <summary>
/// Join-HelloDataset: several data sets as one, classes merged by name (MNIST plus one's own
/// digits stays ten classes), e.g. so that fine-tuning on one's own images does not forget.
/// </summary>
[Cmdlet(VerbsCommon.Join, "HelloDataset")]
[OutputType("HelloDl.Data.ImageDataset", "HelloDl.Data.TextDataset")]
public sealed class JoinHelloDatasetCommand : HelloCmdlet
{
    readonly List<Dataset> _sets = [];

    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [ValidateNotNullOrEmpty]
    public Dataset[]? Dataset { get; set; }

    /// <summary>The joined set's name. Default: the names joined with '+'.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Name { get; set; }

    protected override void ProcessRecord() => _sets.AddRange(Dataset!);

    protected override void EndProcessing()
    {
        try
        {
            var joined = Data.Dataset.Join(_sets, Name);
            var added = joined.ClassNames.Except(_sets[0].ClassNames).ToList();
            if (added.Count > 0) WriteVerbose($"Classes added to {_sets[0].Name}'s: {string.Join(" ", added)}.");
            WriteObject(joined);
        }
        catch (ArgumentException e)
        {
            ThrowTerminatingError(new ErrorRecord(e, "DatasetsDoNotJoin", ErrorCategory.InvalidArgument, _sets));
        }
    }
}
