using System.Management.Automation;
using HelloDl.Data;
using HelloDl.Nn;

namespace HelloDl.PowerShell.Cmdlets;

/// <summary>New-HelloModel: one of hello-dl's networks, freshly initialised.</summary>
[Cmdlet(VerbsCommon.New, "HelloModel", DefaultParameterSetName = FromDatasetSet)]
[OutputType("HelloDl.Nn.Model")]
public sealed class NewHelloModelCommand : HelloCmdlet
{
    const string FromDatasetSet = "FromDataset";
    const string FromNamesSet = "FromNames";

    [Parameter(Mandatory = true, Position = 0)]
    public Architecture Architecture { get; set; }

    /// <summary>Take the class names from this data set.</summary>
    [Parameter(Mandatory = true, ParameterSetName = FromDatasetSet, ValueFromPipeline = true)]
    [ValidateNotNull]
    public ImageDataset? ClassesFrom { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = FromNamesSet)]
    [ValidateCount(2, 1000)]
    [ValidateNotNullOrEmpty]
    public string[]? ClassNames { get; set; }

    /// <summary>Width of the MLP's first hidden layer (hello-dl: 128).</summary>
    [Parameter]
    [ValidateRange(1, 65536)]
    public int HiddenSize { get; set; } = 128;

    /// <summary>Fixes the initial weights.</summary>
    [Parameter]
    public int Seed { get; set; } = 1;

    protected override void ProcessRecord()
    {
        var names = ClassesFrom?.ClassNames ?? ClassNames!;
        if (MyInvocation.BoundParameters.ContainsKey(nameof(HiddenSize)) && Architecture != Architecture.Mlp)
            WriteWarning($"-HiddenSize applies to the Mlp architecture only; the {Architecture} model ignores it.");
        try
        {
            WriteObject(Model.Create(Architecture, names, Seed, HiddenSize));
        }
        catch (ArgumentException e)
        {
            ThrowTerminatingError(new ErrorRecord(e, "InvalidClassNames", ErrorCategory.InvalidArgument, names));
        }
    }
}
