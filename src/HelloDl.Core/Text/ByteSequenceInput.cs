using System.Runtime.CompilerServices;
using System.Text;
using HelloDl.Data;

namespace HelloDl.Text;

/// <summary>How a recurrent text model reads documents: the first <see cref="Length"/> UTF-8 bytes.</summary>
public sealed record ByteSequences
{
    /// <summary>Bytes read of a document (a classifier), or per training window (a language model).</summary>
    public int Length { get; init; } = 256;

    /// <exception cref="ArgumentOutOfRangeException">A length outside 2 to 65,536.</exception>
    public void Validate()
    {
        if (Length is < 2 or > 1 << 16) throw new ArgumentOutOfRangeException(nameof(Length), Length, "Sequences are 2 to 65,536 bytes long.");
    }
}

/// <summary>
/// Documents as byte sequences [<see cref="ByteSequences.Length"/>]: the UTF-8 bytes of a mail's
/// readable text (<see cref="MailText"/>) or of any other document, as values 0..255, then -1
/// for padding, which the GRU masks. Bytes, not characters: 256 symbols cover every language
/// and any file, as in hello-dl's tensor-gru. A data set's documents are encoded once, on first
/// use, and kept beside it while it lives.
/// </summary>
public class ByteSequenceInput : ITextEncoder
{
    /// <summary>A language model's symbols: the 256 byte values, named as two hex digits.</summary>
    public static IReadOnlyList<string> ByteClasses { get; } = Enumerable.Range(0, 256).Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)).ToArray();

    readonly ConditionalWeakTable<TextDataset, byte[][]> _encoded = [];

    /// <exception cref="ArgumentOutOfRangeException">A setting outside its range.</exception>
    public ByteSequenceInput(ByteSequences settings)
    {
        settings.Validate();
        Settings = settings;
    }

    public ByteSequences Settings { get; }
    public int[] ItemShape => [Settings.Length];
    public string ItemNoun => "documents";
    public bool Reads(Dataset data) => data is TextDataset;
    public void Write(Dataset data, int item, Span<float> destination) => Write(Encoded((TextDataset)data)[item], destination);

    /// <summary>The data set's documents as bytes, encoded on first use.</summary>
    protected byte[][] Encoded(TextDataset data) => _encoded.GetValue(data, EncodeAll);

    /// <summary>Keeps bytes already made for a data set (a language model's windows), so they are not encoded again.</summary>
    protected void Remember(TextDataset data, byte[][] bytes) => _encoded.AddOrUpdate(data, bytes);

    public void WriteDocument(string document, Span<float> destination) => Write(Bytes(document, Settings.Length), destination);

    /// <summary>Byte values, then -1 for the positions after the sequence's end.</summary>
    public static void Write(ReadOnlySpan<byte> bytes, Span<float> destination)
    {
        int used = Math.Min(bytes.Length, destination.Length);
        for (int i = 0; i < used; i++) destination[i] = bytes[i];
        destination[used..].Fill(-1);
    }

    byte[][] EncodeAll(TextDataset data)
    {
        var encoded = new byte[data.Count][];
        Parallel.For(0, data.Count, i => encoded[i] = Bytes(data.GetText(i), Settings.Length));
        return encoded;
    }

    static byte[] Bytes(string document, int length)
    {
        var bytes = Encoding.UTF8.GetBytes(MailText.Extract(document));
        return bytes.Length <= length ? bytes : bytes[..length];
    }
}

/// <summary>
/// A language model's input: the same bytes, read from training windows of a corpus, each step's
/// target being the byte after it.
/// </summary>
public sealed class NextByteInput(ByteSequences settings) : ByteSequenceInput(settings), ISequenceTargets
{
    public int TargetsPerItem => Settings.Length;

    /// <summary>A window's next bytes (the window holds Length + 1 bytes; see <see cref="Windows"/>).</summary>
    public void WriteTargets(Dataset data, int item, Span<int> targets)
    {
        var window = Encoded((TextDataset)data)[item];
        for (int t = 0; t < targets.Length; t++) targets[t] = window[t + 1];
    }

    /// <summary>
    /// A corpus cut into training windows for a language model: all documents' bytes joined by
    /// line breaks, in consecutive windows of Length + 1 bytes (the input and, one byte on, its
    /// targets), overlapping by one byte so that every byte is a target once.
    /// </summary>
    /// <exception cref="ArgumentException">The corpus is shorter than one window.</exception>
    public Dataset Windows(Dataset corpus)
    {
        var text = (TextDataset)corpus;
        var bytes = new List<byte>();
        for (int i = 0; i < text.Count; i++)
        {
            if (i > 0) bytes.Add((byte)'\n');
            bytes.AddRange(Encoding.UTF8.GetBytes(MailText.Extract(text.GetText(i))));
        }
        int size = Settings.Length + 1, count = (bytes.Count - 1) / Settings.Length;
        if (count < 1) throw new ArgumentException($"{corpus.Name} holds {bytes.Count:N0} bytes; a language model needs at least {size:N0} (one window).", nameof(corpus));
        var all = bytes.ToArray();
        var windows = Enumerable.Range(0, count).Select(w => all.AsSpan(w * Settings.Length, size).ToArray()).ToArray();
        // The set's documents are the windows' bytes as Latin-1, which maps each byte to one char;
        // the bytes themselves are remembered, so they are read as they are, not as text again.
        var windowSet = TextDataset.FromDocuments($"{corpus.Name}-windows", corpus.Source, ["text"], windows.Select(Encoding.Latin1.GetString).ToList(), new int[count]);
        Remember(windowSet, windows);
        return windowSet;
    }
}
