using System.Management.Automation;
using HelloDl.Training;

namespace HelloDl.PowerShell.Cmdlets;

/// <summary>
/// Get-HelloConfusionMatrix: the confusion matrix of an evaluation as one object per actual class,
/// with one property per predicted class, so Format-Table shows hello-dl's table and Export-Csv
/// writes it.
/// </summary>
[Cmdlet(VerbsCommon.Get, "HelloConfusionMatrix")]
[OutputType(typeof(PSObject))]
public sealed class GetHelloConfusionMatrixCommand : HelloCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [ValidateNotNull]
    public Evaluation? Evaluation { get; set; }

    protected override void ProcessRecord()
    {
        var matrix = Evaluation!.ConfusionMatrix;
        for (int actual = 0; actual < matrix.ClassNames.Count; actual++)
        {
            var row = new PSObject();
            row.TypeNames.Insert(0, "HelloDl.ConfusionRow");
            row.Properties.Add(new PSNoteProperty("Actual", matrix.ClassNames[actual]));
            for (int predicted = 0; predicted < matrix.ClassNames.Count; predicted++)
                row.Properties.Add(new PSNoteProperty(matrix.ClassNames[predicted], matrix[actual, predicted]));
            WriteObject(row);
        }
    }
}
