using System.Management.Automation;
using HelloDl.Inference;
using HelloDl.Nn;

namespace HelloDl.PowerShell.Cmdlets;

/// <summary>
/// Get-HelloText: text written by a language model (a Gru trained with the NextCharacter
/// objective), continuing a prompt, as hello-dl's tensor-gru does. The same seed writes the
/// same text.
/// </summary>
[Cmdlet(VerbsCommon.Get, "HelloText")]
[OutputType(typeof(string))]
public sealed class GetHelloTextCommand : HelloCmdlet, IDisposable
{
    readonly CancellationTokenSource _stop = new();

    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNull]
    public Model? Model { get; set; }

    /// <summary>The text to continue; empty starts a new document.</summary>
    [Parameter(Position = 1, ValueFromPipeline = true)]
    [AllowEmptyString]
    public string Prompt { get; set; } = "";

    /// <summary>Characters to write after the prompt.</summary>
    [Parameter]
    [ValidateRange(1, 1_000_000)]
    public int Length { get; set; } = 200;

    /// <summary>Below 1 keeps to the likeliest characters, above 1 ventures further.</summary>
    [Parameter]
    [ValidateRange(0.01, 10.0)]
    public float Temperature { get; set; } = 0.8f;

    /// <summary>Fixes the draws; default: a different text each time.</summary>
    [Parameter]
    public int? Seed { get; set; }

    /// <summary>Write the prompt before what the model adds.</summary>
    [Parameter]
    public SwitchParameter IncludePrompt { get; set; }

    protected override void ProcessRecord()
    {
        try
        {
            string written = TextSampler.Sample(Model!, Prompt, Length, Temperature, Seed ?? Random.Shared.Next(), _stop.Token);
            WriteObject(IncludePrompt ? Prompt + written : written);
        }
        catch (ArgumentException e) when (e.ParamName == "model")
        {
            ThrowTerminatingError(new ErrorRecord(e, "ModelIsNotLanguageModel", ErrorCategory.InvalidArgument, Model));
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested) { }
    }

    protected override void StopProcessing() => _stop.Cancel();

    public void Dispose() => _stop.Dispose();
}
