using System.Management.Automation;
using HelloDl.Nn;
using HelloDl.Serialization;

namespace HelloDl.PowerShell.Cmdlets;

/// <summary>Export-HelloModel: writes a model as a HelloDl safetensors file or an ONNX graph, atomically.</summary>
[Cmdlet(VerbsData.Export, "HelloModel", SupportsShouldProcess = true, DefaultParameterSetName = PathSet)]
[OutputType(typeof(FileInfo))]
public sealed class ExportHelloModelCommand : HelloCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [ValidateNotNull]
    public Model? Model { get; set; }

    [Parameter(Mandatory = true, Position = 1, ParameterSetName = PathSet)]
    [ValidateNotNullOrEmpty]
    public string? Path { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = LiteralPathSet)]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string? LiteralPath { get; set; }

    /// <summary>SafeTensors (HelloDl's model file) or Onnx; by default Onnx for a .onnx file, else SafeTensors.</summary>
    [Parameter]
    public ModelFileFormat Format { get; set; }

    /// <summary>Overwrite an existing file.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Emit the written file.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        // The destination need not exist yet, so it is resolved without wildcard expansion either way.
        string target = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path ?? LiteralPath);
        if (File.Exists(target) && !Force)
        {
            WriteError(new ErrorRecord(new IOException($"{target} exists; use -Force to overwrite it."), "ModelFileExists", ErrorCategory.ResourceExists, target));
            return;
        }
        var format = MyInvocation.BoundParameters.ContainsKey(nameof(Format)) ? Format
            : string.Equals(System.IO.Path.GetExtension(target), ".onnx", StringComparison.OrdinalIgnoreCase) ? ModelFileFormat.Onnx : ModelFileFormat.SafeTensors;
        if (!ShouldProcess(target, $"Export {Model} as {format}")) return;
        try
        {
            if (format == ModelFileFormat.Onnx) OnnxExport.Save(Model!, target);
            else ModelFile.Save(Model!, target);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            WriteError(new ErrorRecord(e, "ModelFileWriteFailed", ErrorCategory.WriteError, target));
            return;
        }
        catch (NotSupportedException e)
        {
            WriteError(new ErrorRecord(e, "OnnxExportNotSupported", ErrorCategory.NotImplemented, Model));
            return;
        }
        if (PassThru) WriteFileItem(target);
    }
}
