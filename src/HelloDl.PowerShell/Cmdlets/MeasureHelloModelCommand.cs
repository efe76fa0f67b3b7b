using System.Management.Automation;
using HelloDl.Data;
using HelloDl.Nn;
using HelloDl.Training;

namespace HelloDl.PowerShell.Cmdlets;

/// <summary>
/// Measure-HelloModel: accuracy, loss, per-class precision/recall/F1 and the confusion matrix of a
/// model on a data set. With -MinimumAccuracy it is a CI gate.
/// </summary>
[Cmdlet(VerbsDiagnostic.Measure, "HelloModel")]
[OutputType("HelloDl.Training.Evaluation")]
public sealed class MeasureHelloModelCommand : HelloCmdlet, IDisposable
{
    public const string BelowMinimumErrorId = "AccuracyBelowMinimum";
    readonly CancellationTokenSource _stop = new();

    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNull]
    public Model? Model { get; set; }

    [Parameter(Mandatory = true, Position = 1, ValueFromPipeline = true)]
    [ValidateNotNull]
    public Dataset? Dataset { get; set; }

    /// <summary>Fail (terminating error 'AccuracyBelowMinimum') when accuracy, a fraction 0..1, is lower.</summary>
    [Parameter]
    [ValidateRange(0.0, 1.0)]
    public double MinimumAccuracy { get; set; } = double.NaN;

    protected override void ProcessRecord()
    {
        Evaluation evaluation;
        try
        {
            WriteProgress(new ProgressRecord(2, "Measuring", $"{Model} on {Dataset!.Name} ({Dataset.Count:N0} {Dataset.ItemNoun})"));
            evaluation = Evaluator.Evaluate(Model!, Dataset, cancellation: _stop.Token);
            WriteProgress(new ProgressRecord(2, "Measuring", "Done") { RecordType = ProgressRecordType.Completed });
        }
        catch (ArgumentException e) when (e.ParamName == "model")
        {
            ThrowTerminatingError(new ErrorRecord(e, "ModelIsLanguageModel", ErrorCategory.InvalidArgument, Model));
            return;
        }
        catch (ArgumentException e)
        {
            ThrowTerminatingError(new ErrorRecord(e, Model!.Input.Reads(Dataset!) ? "ClassesDoNotMatch" : "DatasetKindDoesNotMatch", ErrorCategory.InvalidArgument, Dataset));
            return;
        }
        catch (OperationCanceledException) { return; }
        WriteObject(evaluation);
        if (!double.IsNaN(MinimumAccuracy) && evaluation.Accuracy < MinimumAccuracy)
            ThrowTerminatingError(new ErrorRecord(new InvalidOperationException(
                $"Accuracy {evaluation.Accuracy:P2} on {evaluation.Dataset} is below the required {MinimumAccuracy:P2}."),
                BelowMinimumErrorId, ErrorCategory.InvalidResult, evaluation));
    }

    protected override void StopProcessing() => _stop.Cancel();

    public void Dispose() => _stop.Dispose();
}
