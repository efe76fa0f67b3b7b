using HelloDl.Data;
using HelloDl.Inference;
using HelloDl.Nn;
using HelloDl.Serialization;
using HelloDl.Text;
using HelloDl.Training;

namespace HelloDl.Tests.Text;

public sealed class GruTests
{
    static TextDataset Sentences(int seed, int count)
    {
        // The class is in the order of the words, which no bag of words sees: "dog bites man" against "man bites dog".
        var random = new Random(seed);
        string[] nouns = ["dog", "man", "cat", "boy"];
        var documents = new List<string>();
        var labels = new List<int>();
        for (int i = 0; i < count; i++)
        {
            string first = nouns[random.Next(nouns.Length)], second = nouns[random.Next(nouns.Length)];
            int label = i % 2;
            documents.Add(label == 0 ? $"{first} bites {second}." : $"{first} is bitten by {second}.");
            labels.Add(label);
        }
        return TextDataset.FromDocuments($"sentences-{seed}", "test", ["active", "passive"], documents, labels);
    }

    [Fact]
    public void A_Gru_classifies_by_word_order_and_survives_its_model_file()
    {
        var training = Sentences(1, 256);
        var model = Model.Create(Architecture.Gru, training.ClassNames, hiddenSize: 16, sequences: new ByteSequences { Length = 32 });
        _ = new Trainer(model, new TrainingOptions { Epochs = 6, BatchSize = 16, LearningRate = 0.01f }).Run(training).ToList();
        var test = Sentences(2, 100);
        var evaluation = Evaluator.Evaluate(model, test);
        Assert.True(evaluation.Accuracy >= 0.95, $"accuracy {evaluation.Accuracy:P2}");

        using var folder = new TempFolder();
        ModelFile.Save(model, folder.File("gru.safetensors"));
        var loaded = ModelFile.Load(folder.File("gru.safetensors"));
        Assert.Equal(model.Sequences, loaded.Sequences);
        Assert.Equal(16, loaded.HiddenSize);
        var inputs = new[] { "cat bites boy.", "cat is bitten by boy." }.Select(t => new ClassifierInput(null, Text: t)).ToList();
        Assert.Equal(Classifier.Classify(model, inputs).Select(r => r.Confidence), Classifier.Classify(loaded, inputs).Select(r => r.Confidence));
    }

    [Fact]
    public void Padding_carries_a_shorter_sequence_to_its_own_last_state()
    {
        var model = Model.Create(Architecture.Gru, ["a", "b"], hiddenSize: 8, sequences: new ByteSequences { Length = 40 });
        var alone = Classifier.Classify(model, [new ClassifierInput(null, Text: "short")]);
        var beside = Classifier.Classify(model, [new ClassifierInput(null, Text: "short"), new ClassifierInput(null, Text: "a much longer sentence beside it")]);
        Assert.Equal(alone[0].Confidence, beside[0].Confidence, 5);
    }

    [Fact]
    public void A_language_model_learns_a_corpus_and_writes_it_on()
    {
        const string Verse = "the quick brown fox jumps over the lazy dog. ";
        var corpus = TextDataset.FromDocuments("verse", "test", ["text"], [string.Concat(Enumerable.Repeat(Verse, 60))], [0]);
        var model = Model.Create(Architecture.Gru, [], hiddenSize: 48, sequences: new ByteSequences { Length = 32 }, objective: Objective.NextCharacter);
        Assert.Equal(256, model.ClassNames.Count);
        var epochs = new Trainer(model, new TrainingOptions { Epochs = 20, BatchSize = 2, LearningRate = 0.01f }).Run(corpus).ToList();
        Assert.True(epochs[^1].TrainAccuracy > 0.9, $"next-byte accuracy {epochs[^1].TrainAccuracy:P1}");
        Assert.Null(epochs[^1].Validation);
        string written = TextSampler.Sample(model, "the quick ", 40, temperature: 0.2f, seed: 1);
        Assert.Equal(40, written.Length);
        Assert.StartsWith("brown fox", written);
        Assert.Equal(written, TextSampler.Sample(model, "the quick ", 40, temperature: 0.2f, seed: 1));

        using var folder = new TempFolder();
        ModelFile.Save(model, folder.File("lm.safetensors"));
        var loaded = ModelFile.Load(folder.File("lm.safetensors"));
        Assert.Equal(Objective.NextCharacter, loaded.Objective);
        Assert.Equal(written, TextSampler.Sample(loaded, "the quick ", 40, temperature: 0.2f, seed: 1));
    }

    /// <summary>Oversampling, feature dropout and a language model's windows are all drawn per epoch from the seed: a resumed run is the uninterrupted one.</summary>
    [Theory]
    [InlineData(Architecture.TextNgram, Objective.Classify)]
    [InlineData(Architecture.Gru, Objective.NextCharacter)]
    public void A_text_run_resumed_from_its_checkpoint_ends_as_the_uninterrupted_one(Architecture architecture, Objective objective)
    {
        var set = objective == Objective.Classify ? Sentences(3, 120).WithClasses("active", "passive")
            : TextDataset.FromDocuments("verse", "test", ["text"], [string.Concat(Enumerable.Repeat("a stitch in time saves nine. ", 20))], [0]);
        Model Fresh() => Model.Create(architecture, set.ClassNames, seed: 5, hiddenSize: 8,
            textFeatures: new HashedNgrams { Buckets = 1 << 10, MaximumFeatures = 32 }, sequences: new ByteSequences { Length = 16 }, objective: objective);
        var options = new TrainingOptions { Epochs = 2, BatchSize = 4 };
        var straight = Fresh();
        _ = new Trainer(straight, options).Run(set).ToList();

        using var folder = new TempFolder();
        string checkpoint = folder.File("run.ckpt");
        var first = Fresh();
        _ = new Trainer(first, options).Run(set, checkpointPath: checkpoint).Take(1).ToList();   // stopped after its first epoch
        var resumed = Fresh();
        _ = Trainer.ResumeFrom(checkpoint, resumed, options).Run(set).ToList();
        Assert.Equal(straight.Values, resumed.Values);

        // The same shapes under other reading settings are another model.
        var other = Model.Create(architecture, set.ClassNames, seed: 5, hiddenSize: 8,
            textFeatures: new HashedNgrams { Buckets = 1 << 10, MaximumFeatures = 32, CharacterNgram = 3 }, sequences: new ByteSequences { Length = 12 }, objective: objective);
        var mismatch = Assert.Throws<CheckpointMismatchException>(() => Trainer.ResumeFrom(checkpoint, other, options));
        Assert.Equal(CheckpointErrorIds.ModelMismatch, mismatch.ErrorId);
    }

    [Fact]
    public void A_language_model_refuses_a_validation_set_and_a_classifier_cannot_write()
    {
        var corpus = TextDataset.FromDocuments("tiny", "test", ["text"], [new string('a', 100)], [0]);
        var model = Model.Create(Architecture.Gru, [], hiddenSize: 4, sequences: new ByteSequences { Length = 8 }, objective: Objective.NextCharacter);
        var error = Assert.Throws<ArgumentException>(() => new Trainer(model, new TrainingOptions { BatchSize = 4 }).CheckSets(corpus, corpus));
        Assert.Equal("validation", error.ParamName);
        var classifier = Model.Create(Architecture.Gru, ["a", "b"], hiddenSize: 4);
        Assert.Throws<ArgumentException>(() => TextSampler.Sample(classifier, "x", 5, 1, 1));
        Assert.Throws<ArgumentException>(() => Model.Create(Architecture.Mlp, ["a", "b"], objective: Objective.NextCharacter));
        var shortCorpus = TextDataset.FromDocuments("short", "test", ["text"], ["abc"], [0]);
        Assert.Throws<ArgumentException>(() => new Trainer(model, new TrainingOptions { BatchSize = 1 }).CheckSets(shortCorpus, null));
    }
}
