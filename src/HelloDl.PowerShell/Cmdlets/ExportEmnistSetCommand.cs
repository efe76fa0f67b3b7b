using System.Management.Automation;
using HelloDl.Data;

namespace HelloDl.PowerShell.Cmdlets;

/// <summary>
/// Export-EmnistSet: writes a data set as an IDX images/labels pair that Import-EmnistSet (and
/// other tools) read: in MNIST layout, or in EMNIST's transposed layout with NIST's file names
/// and a mapping file. Handy for subsets, and to make EMNIST-format files from MNIST.
/// </summary>
[Cmdlet(VerbsData.Export, "EmnistSet", SupportsShouldProcess = true)]
[OutputType(typeof(FileInfo))]
public sealed class ExportEmnistSetCommand : HelloCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [ValidateNotNull]
    public ImageDataset? Dataset { get; set; }

    /// <summary>The folder to write into (created if missing).</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string? Path { get; set; }

    /// <summary>Write as this variant: Mnist gives MNIST's layout and names, the others EMNIST's. Default: the data set's own.</summary>
    [Parameter]
    public DatasetVariant? Variant { get; set; }

    /// <summary>gzip the files (.gz), as NIST ships them.</summary>
    [Parameter]
    public SwitchParameter Compress { get; set; }

    protected override void ProcessRecord()
    {
        var data = Dataset!;
        var variant = Variant ?? data.Variant;
        string folder = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path);
        if (!ShouldProcess(folder, $"Write {data.Name} ({data.Count:N0} images) as {variant}")) return;
        try
        {
            foreach (var file in IdxWriter.WriteFolder(data, folder, variant, Compress)) WriteFileItem(file);
        }
        catch (ArgumentException e)
        {
            ThrowTerminatingError(new ErrorRecord(e, "ClassesDoNotFitVariant", ErrorCategory.InvalidArgument, data));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            WriteError(new ErrorRecord(e, "DatasetWriteFailed", ErrorCategory.WriteError, folder));
        }
    }
}
