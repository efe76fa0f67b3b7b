using HelloDl.Autograd;
using HelloDl.Tensors;
using HelloDl.Text;

namespace HelloDl.Tests.Text;

public sealed class HashedNgramsTests
{
    static (int Count, float[] Pairs) Features(HashedNgrams hashing, string text)
    {
        var pairs = new float[2 * hashing.MaximumFeatures];
        return (hashing.Write(text, pairs), pairs);
    }

    static Dictionary<int, float> Bag(HashedNgrams hashing, string text)
    {
        var (count, pairs) = Features(hashing, text);
        return Enumerable.Range(0, count).ToDictionary(i => (int)pairs[2 * i], i => pairs[2 * i + 1]);
    }

    [Fact]
    public void Features_are_sorted_ids_in_range_with_unit_length_then_padding()
    {
        var hashing = new HashedNgrams { Buckets = 1000, MaximumFeatures = 64 };
        var (count, pairs) = Features(hashing, "Buy cheap meds now!!! Cheap, cheap, CHEAP.");
        Assert.InRange(count, 5, 63);
        var ids = Enumerable.Range(0, count).Select(i => pairs[2 * i]).ToArray();
        Assert.All(ids, id => Assert.InRange(id, 0, 999));
        Assert.Equal(ids.OrderBy(i => i), ids);
        Assert.Equal(ids.Length, ids.Distinct().Count());
        double norm = Enumerable.Range(0, count).Sum(i => (double)pairs[2 * i + 1] * pairs[2 * i + 1]);
        Assert.Equal(1, norm, 5);
        for (int i = count; i < hashing.MaximumFeatures; i++) Assert.Equal((-1f, 0f), (pairs[2 * i], pairs[2 * i + 1]));
    }

    [Fact]
    public void A_repeated_word_weighs_more_but_not_in_proportion()
    {
        var hashing = new HashedNgrams { CharacterNgram = 0 };
        var bag = Bag(hashing, "cheap cheap cheap cheap offer");
        // Words and the word pairs; "cheap" four times: 1 + ln 4 against the others' 1.
        var weights = bag.Values.OrderByDescending(w => w).ToArray();
        Assert.Equal(1 + Math.Log(4), weights[0] / weights[^1], 4);
    }

    [Fact]
    public void Case_does_not_matter_but_word_order_does()
    {
        var hashing = new HashedNgrams();
        Assert.Equal(Bag(hashing, "Free MONEY today"), Bag(hashing, "free money today"));
        var forward = Bag(hashing, "free money");
        var backward = Bag(hashing, "money free");
        Assert.NotEqual(forward.Keys.Order(), backward.Keys.Order());
        Assert.Equal(forward.Count, backward.Count);
    }

    [Fact]
    public void An_empty_or_wordless_document_has_no_features()
    {
        var hashing = new HashedNgrams { MaximumFeatures = 8 };
        Assert.Equal(0, Features(hashing, "").Count);
        var (count, pairs) = Features(hashing, "  \n\t-- ,,, ");
        Assert.Equal(0, count);
        Assert.All(pairs.Where((_, i) => i % 2 == 0), id => Assert.Equal(-1, id));
    }

    [Fact]
    public void A_long_document_keeps_its_heaviest_features_and_only_its_start_is_read()
    {
        var hashing = new HashedNgrams { MaximumFeatures = 16, MaximumCharacters = 200, CharacterNgram = 0 };
        string start = string.Join(" ", Enumerable.Range(0, 40).Select(i => $"w{i}")) + " spam spam spam";
        Assert.True(start.Length < 200);
        string padded = start.PadRight(200) + " tail words that are never read";
        Assert.Equal(Bag(hashing, start), Bag(hashing, padded));
        var bag = Bag(hashing, start);
        Assert.Equal(16, bag.Count);
        var spamId = Bag(hashing, "spam").Keys.Single();
        Assert.Equal(bag.Values.Max(), bag[spamId]);
    }

    [Fact]
    public void The_same_text_always_gives_the_same_features()
    {
        // Fixed ids: model files depend on the hash never changing between versions or machines.
        var hashing = new HashedNgrams { Buckets = 1 << 18, CharacterNgram = 0 };
        var bag = Bag(hashing, "hello");
        Assert.Equal([(int)(FnvWord("hello") % (1u << 18))], bag.Keys);

        static uint FnvWord(string text)
        {
            uint hash = 2166136261 ^ 0x5bd1e995;
            foreach (char c in text) hash = (hash ^ c) * 16777619;
            return hash;
        }
    }

    [Fact]
    public void Settings_out_of_range_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new HashedNgrams { Buckets = 1 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new HashedNgrams { Buckets = (1 << 24) + 1 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new HashedNgrams { CharacterNgram = 9 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new HashedNgrams { MaximumFeatures = 0 }.Validate());
        new HashedNgrams().Validate();
    }

    [Fact]
    public void Hashed_features_through_an_embedding_bag_learn_two_kinds_of_sentences()
    {
        // Two generated kinds of message, sharing most of their words: the classifier must find
        // the few that differ. Trained with plain SGD on the op alone, then tested on new sentences.
        var hashing = new HashedNgrams { Buckets = 4096, MaximumFeatures = 128 };
        string[] shared = ["the", "a", "meeting", "today", "please", "see", "attached", "thanks", "report", "call"];
        string[] ham = ["patch", "kernel", "review", "build"], spam = ["winner", "prize", "cheap", "viagra"];
        string Sentence(Random random, string[] own) =>
            string.Join(" ", Enumerable.Range(0, 12).Select(i => i % 4 == 0 ? own[random.Next(own.Length)] : shared[random.Next(shared.Length)]));
        (Tensor Features, int[] Labels) Batch(Random random, int count)
        {
            var pairs = new float[count * 2 * hashing.MaximumFeatures];
            var labels = new int[count];
            for (int i = 0; i < count; i++)
            {
                labels[i] = i % 2;
                hashing.Write(Sentence(random, labels[i] == 0 ? ham : spam), pairs.AsSpan(i * 2 * hashing.MaximumFeatures, 2 * hashing.MaximumFeatures));
            }
            return (Tensor.FromArray(pairs, count, hashing.MaximumFeatures, 2), labels);
        }

        var random = new Random(7);
        var table = Tensor.Trainable(new float[4096 * 2], 4096, 2);
        var bias = Tensor.Trainable(new float[2], 2);
        var tape = new Tape();
        for (int step = 0; step < 60; step++)
        {
            var (features, labels) = Batch(random, 16);
            tape.Reset();
            table.Grad.Clear();
            bias.Grad.Clear();
            var loss = NllLoss.CrossEntropy(tape, EmbeddingBag.Apply(tape, features, table, bias), labels);
            tape.Backward(loss);
            System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(table.Grad, -1f, table.Data, table.Data);
            System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(bias.Grad, -1f, bias.Data, bias.Data);
        }
        var (test, truth) = Batch(new Random(99), 200);
        var scores = EmbeddingBag.Apply(new Tape(recording: false), test, table, bias).Data.ToArray();
        int correct = Enumerable.Range(0, 200).Count(i => (scores[2 * i + 1] > scores[2 * i] ? 1 : 0) == truth[i]);
        Assert.True(correct >= 196, $"{correct} of 200 new sentences classified right");
    }
}
