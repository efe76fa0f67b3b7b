using HelloDl.Training;

namespace HelloDl.Tests.Training;

public sealed class TrainingWarmupTests
{
    [Fact]
    public async Task Warm_up_rehearses_training_and_evaluation_once_per_process()
    {
        var first = TrainingWarmup.Start();
        Assert.Same(first, TrainingWarmup.Start());
        // A rehearsal that throws (a model, trainer or evaluation path broken for blank images) faults the task.
        await first.WaitAsync(TimeSpan.FromMinutes(2));
        Assert.True(first.IsCompletedSuccessfully);
    }
}
