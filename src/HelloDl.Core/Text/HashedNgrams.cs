using System.Globalization;

namespace HelloDl.Text;

/// <summary>
/// Turns a document into a bag of hashed features (the hashing trick, as in fastText and
/// Vowpal Wabbit): lower-cased words, pairs of neighbouring words and character n-grams, each
/// hashed into one of <see cref="Buckets"/> ids. A feature's weight is 1 + ln(count), and each
/// document's weights have unit length, so a long message does not shout louder than a short
/// one. No vocabulary is kept: any text, in any language, maps to features, and the settings
/// alone (stored in model files) say how.
/// </summary>
public sealed record HashedNgrams
{
    /// <summary>Ids are 0 ≤ id &lt; Buckets; at most 2^24, so an id is exact as a float.</summary>
    public int Buckets { get; init; } = 1 << 18;
    /// <summary>Character n-grams of this length (0 for none).</summary>
    public int CharacterNgram { get; init; } = 4;
    /// <summary>The most distinct features a document keeps: its heaviest ones, lowest id first among equals.</summary>
    public int MaximumFeatures { get; init; } = 2048;
    /// <summary>Characters of a document looked at: the start of a long message says what it is, and the cost stays bounded.</summary>
    public int MaximumCharacters { get; init; } = 1 << 16;

    /// <summary>Words longer than this are cut (base64 runs and the like).</summary>
    const int LongestWord = 40;

    /// <exception cref="ArgumentOutOfRangeException">A setting outside its range.</exception>
    public void Validate()
    {
        if (Buckets is < 2 or > 1 << 24) throw new ArgumentOutOfRangeException(nameof(Buckets), Buckets, "Hash buckets are 2 to 2^24.");
        if (CharacterNgram is < 0 or > 8) throw new ArgumentOutOfRangeException(nameof(CharacterNgram), CharacterNgram, "Character n-grams are 0 (none) to 8 long.");
        if (MaximumFeatures < 1) throw new ArgumentOutOfRangeException(nameof(MaximumFeatures), MaximumFeatures, "A document keeps at least one feature.");
        if (MaximumCharacters < 1) throw new ArgumentOutOfRangeException(nameof(MaximumCharacters), MaximumCharacters, "At least one character is read.");
    }

    /// <summary>
    /// The document's features as (id, weight) pairs into <paramref name="idsAndWeights"/>
    /// (2 × <see cref="MaximumFeatures"/> floats), sorted by id; the pairs after the returned
    /// count are (-1, 0), which <see cref="Autograd.EmbeddingBag"/> skips. An empty document has no features.
    /// </summary>
    public int Write(ReadOnlySpan<char> document, Span<float> idsAndWeights)
    {
        if (idsAndWeights.Length < 2 * MaximumFeatures) throw new ArgumentException($"Room for {MaximumFeatures} pairs is needed.", nameof(idsAndWeights));
        var counts = Count(document.Length > MaximumCharacters ? document[..MaximumCharacters] : document);
        var kept = counts.Count <= MaximumFeatures ? counts.ToList()
            : counts.OrderByDescending(p => p.Value).ThenBy(p => p.Key).Take(MaximumFeatures).ToList();
        kept.Sort((a, b) => a.Key.CompareTo(b.Key));
        double norm = 0;
        foreach (var (_, count) in kept) norm += Math.Pow(1 + Math.Log(count), 2);
        float scale = norm > 0 ? (float)(1 / Math.Sqrt(norm)) : 0;
        for (int i = 0; i < MaximumFeatures; i++)
        {
            bool used = i < kept.Count;
            idsAndWeights[2 * i] = used ? kept[i].Key : -1;
            idsAndWeights[2 * i + 1] = used ? (float)(1 + Math.Log(kept[i].Value)) * scale : 0;
        }
        return kept.Count;
    }

    /// <summary>How often each feature id occurs in the document.</summary>
    Dictionary<int, int> Count(ReadOnlySpan<char> document)
    {
        var counts = new Dictionary<int, int>();
        void Add(uint hash) => counts[(int)(hash % (uint)Buckets)] = counts.GetValueOrDefault((int)(hash % (uint)Buckets)) + 1;

        // The word framed by spaces, so that its n-grams mark its start and end: " free", "ree ".
        Span<char> framed = stackalloc char[LongestWord + 2];
        var word = framed.Slice(1, LongestWord);
        framed[0] = ' ';
        uint previousWord = 0;
        bool hasPrevious = false;
        int length = 0;
        for (int i = 0; i <= document.Length; i++)
        {
            char c = i < document.Length ? document[i] : ' ';
            if (char.IsLetterOrDigit(c) || c is '$' or '!' or '%' or '\'')
            {
                if (length < LongestWord) word[length++] = char.ToLower(c, CultureInfo.InvariantCulture);
                continue;
            }
            if (length == 0) continue;
            uint hash = Fnv(word[..length], Kind.Word);
            Add(hash);
            if (hasPrevious) Add(Mix(previousWord, hash));
            if (CharacterNgram > 0)
            {
                framed[length + 1] = ' ';
                for (int start = 0; start + CharacterNgram <= length + 2; start++) Add(Fnv(framed.Slice(start, CharacterNgram), Kind.Ngram));
            }
            (previousWord, hasPrevious, length) = (hash, true, 0);
        }
        return counts;
    }

    enum Kind : uint { Word = 0x5bd1e995, Ngram = 0x27d4eb2f }

    /// <summary>FNV-1a over the characters, seeded by the kind of feature so that a word and an n-gram of the same letters differ.</summary>
    static uint Fnv(ReadOnlySpan<char> text, Kind kind)
    {
        uint hash = 2166136261 ^ (uint)kind;
        foreach (char c in text) hash = (hash ^ c) * 16777619;
        return hash;
    }

    /// <summary>A hash for the pair of words, order-sensitive ("free money" differs from "money free").</summary>
    static uint Mix(uint first, uint second)
    {
        uint hash = first * 0x9E3779B1 ^ second;
        hash ^= hash >> 15;
        hash *= 0x85EBCA77;
        return hash ^ (hash >> 13);
    }
}
