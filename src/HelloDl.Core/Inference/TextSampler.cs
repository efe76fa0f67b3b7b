using System.Text;
using HelloDl.Autograd;
using HelloDl.Nn;
using HelloDl.Tensors;

namespace HelloDl.Inference;

/// <summary>
/// Writes text with a language model (a Gru trained with the NextCharacter objective), as
/// hello-dl's tensor-gru does: the prompt's bytes are fed in one at a time, then each next byte
/// is drawn from the model's distribution sharpened or flattened by a temperature and fed back.
/// The GRU's states are carried from step to step, so each byte costs one step, not a rerun.
/// </summary>
public static class TextSampler
{
    /// <param name="length">Characters to write after the prompt.</param>
    /// <param name="temperature">Below 1 keeps to the likeliest bytes, above 1 ventures further; must be positive.</param>
    /// <exception cref="ArgumentException">The model is not a language model (ParamName 'model').</exception>
    /// <exception cref="ArgumentOutOfRangeException">A length below 1 or a temperature that is not positive.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public static string Sample(Model model, string prompt, int length, float temperature, int seed, CancellationToken cancellation = default)
    {
        if (model.Objective != Objective.NextCharacter || model.Network.Children is not [(_, GruEncoder gru), (_, LinearLayer head), ..])
            throw new ArgumentException($"{model} does not predict next characters: make one with New-HelloModel Gru -Objective NextCharacter and train it on text.", nameof(model));
        if (length < 1) throw new ArgumentOutOfRangeException(nameof(length), length, "Write at least one character.");
        if (!(temperature > 0) || !float.IsFinite(temperature)) throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "The temperature must be a positive number.");

        var tape = new Tape(recording: false) { Training = false };
        var states = Enumerable.Range(0, gru.Layers).Select(_ => new float[gru.Hidden]).ToArray();
        var random = new Random(seed);
        // Documents of a corpus are joined by line breaks: an empty prompt starts as a new one does.
        var context = Encoding.UTF8.GetBytes(prompt.Length == 0 ? "\n" : prompt);
        float[] scores = [];
        foreach (byte b in context) scores = Feed(b);
        var written = new List<byte>();
        // Characters, not bytes: a multi-byte character is complete only with its last byte, which
        // the decoder (it keeps the bytes of a character begun) tells as each byte comes.
        var decoder = Encoding.UTF8.GetDecoder();
        Span<char> decoded = stackalloc char[2];
        int characters = 0;
        while (characters < length && written.Count < 4 * length)
        {
            cancellation.ThrowIfCancellationRequested();
            byte next = Draw(scores, temperature, random);
            written.Add(next);
            characters += decoder.GetChars([next], decoded, flush: false);
            scores = Feed(next);
        }
        return Encoding.UTF8.GetString(written.ToArray());

        float[] Feed(byte symbol)
        {
            tape.Reset();
            var current = states.Select(s => Tensor.FromArray(s, 1, gru.Hidden)).ToArray();
            var top = gru.Step(tape, [symbol], current);
            for (int k = 0; k < states.Length; k++) current[k].Data.CopyTo(states[k]);
            return head.Forward(tape, top).Data.ToArray();
        }
    }

    /// <summary>A byte drawn from softmax(scores / temperature).</summary>
    static byte Draw(float[] scores, float temperature, Random random)
    {
        double largest = scores.Max(), total = 0;
        var weights = new double[scores.Length];
        for (int i = 0; i < scores.Length; i++) total += weights[i] = Math.Exp((scores[i] - largest) / temperature);
        double pick = random.NextDouble() * total;
        for (int i = 0; i < weights.Length; i++)
            if ((pick -= weights[i]) <= 0) return (byte)i;
        return (byte)(weights.Length - 1);
    }
}
