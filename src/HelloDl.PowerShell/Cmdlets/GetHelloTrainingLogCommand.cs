using System.Management.Automation;
using HelloDl.Training;

namespace HelloDl.PowerShell.Cmdlets;

/// <summary>What Get-HelloTrainingLog reads.</summary>
public enum TrainingLogTable { Runs, Batches, Validations, Confusion }

/// <summary>Get-HelloTrainingLog: reads the SQLite log that Start-HelloTraining -LogPath writes.</summary>
[Cmdlet(VerbsCommon.Get, "HelloTrainingLog")]
[OutputType("HelloDl.Training.LoggedRun", "HelloDl.Training.LoggedBatch", "HelloDl.Training.LoggedValidation", "HelloDl.Training.LoggedConfusion")]
public sealed class GetHelloTrainingLogCommand : HelloCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "FullName")]
    [ValidateNotNullOrEmpty]
    public string? LiteralPath { get; set; }

    [Parameter(Position = 1)]
    public TrainingLogTable Table { get; set; } = TrainingLogTable.Runs;

    /// <summary>Only this run (from the Runs table); all runs when omitted.</summary>
    [Parameter]
    public long? RunId { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var path in ResolveFileSystemPaths([LiteralPath!], literal: true))
        {
            try
            {
                System.Collections.IEnumerable rows = Table switch
                {
                    TrainingLogTable.Batches => TrainingLogReader.Batches(path, RunId),
                    TrainingLogTable.Validations => TrainingLogReader.Validations(path, RunId),
                    TrainingLogTable.Confusion => TrainingLogReader.Confusion(path, RunId),
                    _ => TrainingLogReader.Runs(path).Where(r => RunId is null || r.RunId == RunId).ToList(),
                };
                WriteObject(rows, enumerateCollection: true);
            }
            catch (TrainingLogException e)
            {
                WriteError(FileError(e));
            }
            catch (IOException e)   // gone or unreadable since it was resolved
            {
                WriteError(new ErrorRecord(e, TrainingLogErrorIds.Unreadable, ErrorCategory.ReadError, path));
            }
        }
    }
}
