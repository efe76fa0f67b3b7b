using System.Management.Automation;
using HelloDl.Nn;
using HelloDl.Serialization;

namespace HelloDl.PowerShell.Cmdlets;

/// <summary>Import-HelloModel: loads a model file written by Export-HelloModel (or a training checkpoint).</summary>
[Cmdlet(VerbsData.Import, "HelloModel", DefaultParameterSetName = PathSet)]
[OutputType("HelloDl.Nn.Model")]
public sealed class ImportHelloModelCommand : HelloCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = PathSet)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? Path { get; set; }

    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = LiteralPathSet)]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string[]? LiteralPath { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var path in ResolveFileSystemPaths(Path ?? LiteralPath, literal: Path is null))
        {
            try
            {
                WriteObject(ModelFile.Load(path, WriteWarning));
            }
            catch (ModelFileException e)
            {
                // A model that cannot be trusted must not be half used: stop.
                ThrowTerminatingError(FileError(e));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                ThrowTerminatingError(new ErrorRecord(e, "ModelFileReadFailed", ErrorCategory.ReadError, path));
            }
        }
    }
}
