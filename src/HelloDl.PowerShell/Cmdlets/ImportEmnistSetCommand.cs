using System.Management.Automation;
using HelloDl.Data;

namespace HelloDl.PowerShell.Cmdlets;

/// <summary>Import-EmnistSet: reads MNIST or an EMNIST split into one data set object.</summary>
[Cmdlet(VerbsData.Import, "EmnistSet", DefaultParameterSetName = PathSet)]
[OutputType("HelloDl.Data.ImageDataset")]
public sealed class ImportEmnistSetCommand : HelloCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = PathSet)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? Path { get; set; }

    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = LiteralPathSet)]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string[]? LiteralPath { get; set; }

    /// <summary>Which data set; inferred from file names when omitted.</summary>
    [Parameter]
    public DatasetVariant? Variant { get; set; }

    /// <summary>Train or Test; inferred from a file name, else Train.</summary>
    [Parameter]
    public DatasetSplit? Split { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var path in ResolveFileSystemPaths(Path ?? LiteralPath, literal: Path is null))
        {
            WriteVerbose($"Reading {path}");
            ImageDataset dataset;
            try
            {
                dataset = EmnistLoader.Load(path, Variant, Split);
            }
            catch (DatasetFormatException e)
            {
                // A data set that cannot be read leaves nothing to work on: stop, as the caller expects a set.
                ThrowTerminatingError(FileError(e));
                return;
            }
            catch (IOException e)
            {
                ThrowTerminatingError(new ErrorRecord(e, "DatasetReadFailed", ErrorCategory.ReadError, path));
                return;
            }
            catch (UnauthorizedAccessException e)
            {
                ThrowTerminatingError(new ErrorRecord(e, "DatasetAccessDenied", ErrorCategory.PermissionDenied, path));
                return;
            }
            WriteObject(dataset);
        }
    }
}
