using System.Management.Automation;
using HelloDl.Data;
using HelloDl.Nn;
using HelloDl.Quantization;

namespace HelloDl.PowerShell.Cmdlets;

/// <summary>
/// ConvertTo-HelloQuantizedModel: a trained model with 8-bit (or 4-bit) weights and 7-bit
/// activations calibrated on a data set, which classifies with integer kernels.
/// </summary>
[Cmdlet(VerbsData.ConvertTo, "HelloQuantizedModel")]
[OutputType("HelloDl.Nn.Model")]
public sealed class ConvertToHelloQuantizedModelCommand : HelloCmdlet, IDisposable
{
    readonly CancellationTokenSource _stop = new();

    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [ValidateNotNull]
    public Model? Model { get; set; }

    /// <summary>Images whose activations set the quantisation ranges: the training set or part of it.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNull]
    public ImageDataset? CalibrationSet { get; set; }

    /// <summary>Bits per weight: 8 (per-channel scales) or 4 (hello-dl's equal-population codebook).</summary>
    [Parameter]
    [ValidateSet("8", "4")]
    public int Bits { get; set; } = 8;

    protected override void ProcessRecord()
    {
        try
        {
            WriteProgress(new ProgressRecord(3, "Quantising", $"{Model} to {Bits} bits, calibrated on {CalibrationSet!.Name}"));
            WriteObject(Quantizer.Quantize(Model!, CalibrationSet, Bits, _stop.Token));
            WriteProgress(new ProgressRecord(3, "Quantising", "Done") { RecordType = ProgressRecordType.Completed });
        }
        catch (ArgumentException e) when (e.ParamName == "model")
        {
            string id = Model!.Quantized is not null ? "ModelAlreadyQuantized" : Model.ReadsText ? "QuantizationNotSupported" : "ModelNotFinite";
            WriteError(new ErrorRecord(e, id, Model.ReadsText ? ErrorCategory.NotImplemented : ErrorCategory.InvalidArgument, Model));
        }
        catch (ArgumentException e) when (e.ParamName == "calibration")
        {
            ThrowTerminatingError(new ErrorRecord(e, "CalibrationSetUnusable", ErrorCategory.InvalidArgument, CalibrationSet));
        }
        catch (OperationCanceledException) { }
    }

    protected override void StopProcessing() => _stop.Cancel();

    public void Dispose() => _stop.Dispose();
}
