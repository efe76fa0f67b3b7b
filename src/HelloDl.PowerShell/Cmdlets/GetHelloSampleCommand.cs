using System.Management.Automation;
using HelloDl.Data;

namespace HelloDl.PowerShell.Cmdlets;

/// <summary>Get-HelloSample: images of a data set by index, or at random, with their labels.</summary>
[Cmdlet(VerbsCommon.Get, "HelloSample", DefaultParameterSetName = IndexSet)]
[OutputType("HelloDl.Data.Sample")]
public sealed class GetHelloSampleCommand : HelloCmdlet
{
    const string IndexSet = "Index";
    const string RandomSet = "Random";

    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [ValidateNotNull]
    public ImageDataset? Dataset { get; set; }

    [Parameter(Position = 1, ParameterSetName = IndexSet)]
    [ValidateNotNullOrEmpty]
    public int[] Index { get; set; } = [0];

    /// <summary>How many distinct images to pick at random.</summary>
    [Parameter(Mandatory = true, ParameterSetName = RandomSet)]
    [ValidateRange(1, int.MaxValue)]
    public int Random { get; set; }

    /// <summary>Makes -Random repeatable.</summary>
    [Parameter(ParameterSetName = RandomSet)]
    public int? Seed { get; set; }

    protected override void ProcessRecord()
    {
        var dataset = Dataset!;
        var indices = ParameterSetName == RandomSet ? PickRandom(dataset.Count) : Index;
        foreach (int index in indices)
        {
            if ((uint)index >= (uint)dataset.Count)
            {
                WriteError(new ErrorRecord(new ArgumentOutOfRangeException(nameof(Index), index,
                    $"{dataset.Name} has {dataset.Count:N0} images (indices 0..{dataset.Count - 1})."),
                    "SampleIndexOutOfRange", ErrorCategory.InvalidArgument, index));
                continue;
            }
            WriteObject(dataset.GetSample(index));
        }
    }

    IEnumerable<int> PickRandom(int count)
    {
        var random = Seed is int seed ? new Random(seed) : new Random();
        var order = Enumerable.Range(0, count).ToArray();
        int take = Math.Min(Random, count);
        for (int i = 0; i < take; i++)
        {
            int j = random.Next(i, count);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order.Take(take);
    }
}
