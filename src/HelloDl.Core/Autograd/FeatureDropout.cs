using HelloDl.Tensors;

namespace HelloDl.Autograd;

/// <summary>
/// Dropout of whole sparse features: in training each (id, weight) pair of [N, K, 2] is dropped
/// (made padding) with probability p. A text model then cannot lean on the few words that mark
/// its training period's spam, and learns from all of a message. Unlike <see cref="Dropout"/>,
/// the survivors keep their weights (fastText-style subsampling): a whole message then weighs
/// more at classification than a training sample of it, which on the SpamAssassin corpus's later
/// spam read it 1.5 points better than scaling them by 1/(1-p). The features are data, never
/// trained, so nothing is recorded for backward.
/// </summary>
public static class FeatureDropout
{
    public static Tensor Apply(Tape tape, Tensor features, float p)
    {
        if (p is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(p), p, "Dropout probability must be in [0, 1).");
        if (!tape.Training || p == 0) return features;
        if (features.Rank != 3 || features.Dim(2) != 2) throw new ArgumentException($"Feature dropout needs features [N, K, 2]; got {features}.", nameof(features));
        var y = tape.NewTensor(features.Shape);
        ReadOnlySpan<float> input = features.Data;
        var output = y.Data;
        for (int i = 0; i < input.Length; i += 2)
        {
            bool dropped = input[i] < 0 || tape.Random.NextSingle() < p;
            output[i] = dropped ? -1 : input[i];
            output[i + 1] = dropped ? 0 : input[i + 1];
        }
        return y;
    }
}
