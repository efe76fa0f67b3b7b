using System.Runtime.CompilerServices;
using HelloDl.Data;

namespace HelloDl.Text;

/// <summary>
/// Documents as [<see cref="HashedNgrams.MaximumFeatures"/>, 2] (id, weight) pairs for an
/// <see cref="Autograd.EmbeddingBag"/>: a mail message's readable text (<see cref="MailText"/>)
/// or any other document as it is, hashed by <see cref="Features"/>. A data set's documents are
/// hashed once, on first use, and kept beside it while it lives: every epoch reads the same.
/// </summary>
public sealed class HashedTextInput : ITextEncoder
{
    readonly ConditionalWeakTable<TextDataset, float[][]> _hashed = [];

    /// <exception cref="ArgumentOutOfRangeException">A setting outside its range.</exception>
    public HashedTextInput(HashedNgrams features)
    {
        features.Validate();
        Features = features;
    }

    public HashedNgrams Features { get; }
    public int[] ItemShape => [Features.MaximumFeatures, 2];
    public string ItemNoun => "documents";
    public bool Reads(Dataset data) => data is TextDataset;

    public void Write(Dataset data, int item, Span<float> destination)
    {
        var pairs = _hashed.GetValue((TextDataset)data, HashAll)[item];
        pairs.CopyTo(destination);
        Pad(destination[pairs.Length..]);
    }

    public void WriteDocument(string document, Span<float> destination) => Features.Write(MailText.Extract(document), destination);

    /// <summary>Every document's used pairs, hashed on all cores.</summary>
    float[][] HashAll(TextDataset data)
    {
        var hashed = new float[data.Count][];
        Parallel.For(0, data.Count, () => new float[2 * Features.MaximumFeatures], (i, _, buffer) =>
        {
            int used = Features.Write(MailText.Extract(data.GetText(i)), buffer);
            hashed[i] = buffer.AsSpan(0, 2 * used).ToArray();
            return buffer;
        }, _ => { });
        return hashed;
    }

    /// <summary>Unused pairs are (-1, 0), which the EmbeddingBag skips.</summary>
    static void Pad(Span<float> pairs)
    {
        for (int i = 0; i < pairs.Length; i += 2) (pairs[i], pairs[i + 1]) = (-1, 0);
    }
}
