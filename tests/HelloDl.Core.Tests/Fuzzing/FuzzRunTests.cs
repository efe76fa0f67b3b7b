using HelloDl.Imaging;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace HelloDl.Tests.Fuzzing;

/// <summary>The fuzzer catches what it is meant to catch, and replays a case exactly.</summary>
public sealed class FuzzRunTests(ITestOutputHelper output)
{
    static readonly byte[] Original = [.. Enumerable.Range(0, 200).Select(i => (byte)i)];

    [Fact]
    public void An_exception_without_a_stable_id_fails_the_run()
    {
        var run = new FuzzRun("meta").Run(Original, 1, 12, _ => throw new InvalidOperationException("boom"));
        var failure = Assert.ThrowsAny<XunitException>(() => run.Report(output, toReportFile: false));
        Assert.Contains("12 of 12", failure.Message);
        Assert.Contains("InvalidOperationException: boom", failure.Message);
    }

    [Fact]
    public void A_wrong_result_fails_the_run_and_documented_errors_do_not()
    {
        new FuzzRun("meta").Run(Original, 1, 12, _ => throw new ImageReadException(ImageErrorIds.Corrupt, "x", "bad")).Report(output, toReportFile: false);
        var run = new FuzzRun("meta").Run(Original, 1, 12, bytes => bytes.Length == 200 ? throw new FuzzFailure("changed") : "read");
        Assert.Contains("changed", Assert.ThrowsAny<XunitException>(() => run.Report(output, toReportFile: false)).Message);
    }

    [Fact]
    public void Every_kind_of_mutation_is_made_and_a_case_replays()
    {
        var cases = Enumerable.Range(0, 60).Select(i => Mutator.Mutate(Original, 7, i)).ToList();
        Assert.Equal(Mutator.Kinds.ToHashSet(), cases.Select(c => c.Kind).ToHashSet());
        Assert.All(cases, c => Assert.False(c.Bytes.SequenceEqual(Original) && c.Kind != "length field", c.Kind));
        Assert.Equal(cases[17].Bytes, Mutator.Mutate(Original, 7, 17).Bytes);
        Assert.Contains(cases, c => c.Kind == "truncation" && c.Bytes.Length < Original.Length);
    }
}
