using HelloDl.Data;
using HelloDl.Inference;
using HelloDl.Nn;
using HelloDl.Serialization;
using HelloDl.Text;
using HelloDl.Training;
using Xunit.Abstractions;

namespace HelloDl.Tests.Text;

public sealed class TextSetTests(ITestOutputHelper output)
{
    static readonly string[] Shared = ["the", "a", "meeting", "today", "please", "see", "attached", "thanks", "report", "call"];
    static readonly string[] HamWords = ["patch", "kernel", "review", "build"], SpamWords = ["winner", "prize", "cheap", "viagra"];

    static string Sentence(Random random, string[] own) =>
        string.Join(" ", Enumerable.Range(0, 12).Select(i => i % 4 == 0 ? own[random.Next(own.Length)] : Shared[random.Next(Shared.Length)]));

    /// <summary>Two kinds of generated messages that share most of their words; spam is the rarer, as in real mail.</summary>
    static TextDataset Generated(int seed, int ham, int spam)
    {
        var random = new Random(seed);
        var documents = Enumerable.Range(0, ham).Select(_ => Sentence(random, HamWords)).Concat(Enumerable.Range(0, spam).Select(_ => Sentence(random, SpamWords))).ToList();
        var labels = Enumerable.Repeat(0, ham).Concat(Enumerable.Repeat(1, spam)).ToList();
        return TextDataset.FromDocuments($"generated-{seed}", "test", ["ham", "spam"], documents, labels);
    }

    [Fact]
    public void A_TextNgram_model_learns_generated_messages_through_the_trainer_and_survives_its_model_file()
    {
        var training = Generated(1, 300, 60);
        var model = Model.Create(Architecture.TextNgram, training.ClassNames, hiddenSize: 16, textFeatures: new HashedNgrams { Buckets = 1 << 12, MaximumFeatures = 64 });
        var epochs = new Trainer(model, new TrainingOptions { Epochs = 4, BatchSize = 16 }).Run(training).ToList();
        Assert.Equal(4, epochs.Count);
        // Oversampling (the text default) shows spam about five times per epoch.
        Assert.True(epochs[0].Images > training.Count * 0.9 + 48 * 3, $"{epochs[0].Images} documents in the first epoch");
        var test = Generated(2, 200, 200);
        var evaluation = Evaluator.Evaluate(model, test);
        Assert.True(evaluation.Accuracy >= 0.97, $"accuracy {evaluation.Accuracy:P2} on new generated messages");

        using var folder = new TempFolder();
        string path = folder.File("text.safetensors");
        ModelFile.Save(model, path);
        var loaded = ModelFile.Load(path);
        Assert.Equal(Architecture.TextNgram, loaded.Architecture);
        Assert.Equal(model.TextFeatures, loaded.TextFeatures);
        Assert.Equal(16, loaded.HiddenSize);
        var inputs = Enumerable.Range(0, test.Count).Select(i => new ClassifierInput(null, Text: test.GetText(i))).ToList();
        var before = Classifier.Classify(model, inputs);
        var after = Classifier.Classify(loaded, inputs);
        Assert.Equal(before.Select(r => (r.Label, r.Confidence)), after.Select(r => (r.Label, r.Confidence)));
        Assert.Equal(test.GetText(0), after[0].Text);
    }

    [Fact]
    public void A_text_model_refuses_images_and_an_image_model_refuses_text()
    {
        var text = Generated(3, 20, 20);
        var textModel = Model.Create(Architecture.TextNgram, ["ham", "spam"], textFeatures: new HashedNgrams { Buckets = 256, MaximumFeatures = 16 });
        var imageModel = Model.Create(Architecture.Linear, ["ham", "spam"]);
        var error = Assert.Throws<ArgumentException>(() => new Trainer(imageModel, new TrainingOptions { BatchSize = 4 }).CheckSets(text, null));
        Assert.Contains("holds documents; the Linear model reads images", error.Message);
        Assert.Throws<ArgumentException>(() => Evaluator.Evaluate(imageModel, text));
        Assert.Throws<ArgumentException>(() => Classifier.Classify(textModel, [new ClassifierInput(new HelloDl.Imaging.GrayImage(28, 28, new byte[784]))]));
        var augmented = Assert.Throws<ArgumentException>(() => new Trainer(textModel, new TrainingOptions { BatchSize = 4, Augmentation = new Augmentation() }).CheckSets(text, null));
        Assert.Equal(nameof(TrainingOptions.Augmentation), augmented.ParamName);
        Assert.Throws<ArgumentException>(() => HelloDl.Quantization.Quantizer.Quantize(textModel, MnistData.Test.Select([0, 1])));
        Assert.Throws<NotSupportedException>(() => OnnxExport.ToBytes(textModel));
    }

    [Fact]
    public void Text_sets_select_partition_and_join_by_class_name()
    {
        var set = Generated(4, 50, 10);
        var (training, validation) = set.Partition(0.2, seed: 1);
        Assert.IsType<TextDataset>(training);
        Assert.Equal(10, validation.ClassCounts["ham"]);
        Assert.Equal(2, validation.ClassCounts["spam"]);
        var other = TextDataset.FromDocuments("other", "test", ["spam", "phish"], ["free money", "your bank account"], [0, 1], ["a.txt", null]);
        var joined = Assert.IsType<TextDataset>(Dataset.Join([set, other]));
        Assert.Equal(["ham", "spam", "phish"], joined.ClassNames);
        Assert.Equal(62, joined.Count);
        Assert.Equal("spam", joined.ClassNames[joined.GetLabel(60)]);
        Assert.Equal("a.txt", joined.GetPath(60));
        Assert.Equal("your bank account", joined.GetText(61));
        var onlySpam = joined.WithClasses("phish", "spam");
        Assert.Equal(12, onlySpam.Count);
        Assert.Equal(["phish", "spam"], onlySpam.ClassNames);
        var mixed = Assert.Throws<ArgumentException>(() => Dataset.Join([set, MnistData.Test]));
        Assert.Contains("only sets of one kind join", mixed.Message);
    }

    [Fact]
    public void Text_files_are_read_within_bounds_and_binary_ones_refused()
    {
        using var folder = new TempFolder();
        File.WriteAllText(folder.File("plain.txt"), "héllo wörld");
        File.WriteAllBytes(folder.File("latin1.txt"), [(byte)'c', 0xE9, (byte)'!']);
        File.WriteAllBytes(folder.File("utf16.txt"), [0xFF, 0xFE, (byte)'h', 0, (byte)'i', 0]);
        File.WriteAllBytes(folder.File("image.png"), [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13]);
        File.WriteAllText(folder.File("big.txt"), new string('x', 5000));
        Assert.Equal("héllo wörld", TextFiles.Read(folder.File("plain.txt")));
        Assert.Equal("cé!", TextFiles.Read(folder.File("latin1.txt")));
        Assert.Equal("hi", TextFiles.Read(folder.File("utf16.txt")));
        var binary = Assert.Throws<TextSetException>(() => TextFiles.Read(folder.File("image.png")));
        Assert.Equal(TextSetErrorIds.FileBinary, binary.ErrorId);
        Assert.Contains("image.png", binary.Message);
        var large = Assert.Throws<TextSetException>(() => TextFiles.Read(folder.File("big.txt"), maximumBytes: 4096));
        Assert.Equal(TextSetErrorIds.FileTooLarge, large.ErrorId);
    }

    [Fact]
    public void A_csv_of_documents_keeps_quoted_line_breaks_and_reports_bad_records()
    {
        using var folder = new TempFolder();
        File.WriteAllText(folder.File("docs.csv"), "id,body,verdict\n1,\"first line\nsecond, with comma\",ham\n2,\"say \"\"hi\"\"\",spam\n3,no label,\n\n4,\"never closed,spam\n");
        var (documents, problems) = TextCsv.Read(folder.File("docs.csv"), "body", "verdict", null);
        Assert.Equal(2, documents.Count);
        Assert.Equal("first line\nsecond, with comma", documents[0].Text);
        Assert.Equal("say \"hi\"", documents[1].Text);
        Assert.Equal(["ham", "spam"], documents.Select(d => d.Label));
        Assert.Equal(2, problems.Count);
        Assert.All(problems, p => Assert.Equal(TextSetErrorIds.CsvBadRecord, p.ErrorId));
        Assert.Contains("line 5", problems[0].Message);
        Assert.Contains("never closes", problems[1].Message);
        var header = Assert.Throws<TextSetException>(() => TextCsv.Read(folder.File("docs.csv"), "text", "verdict", null));
        Assert.Equal(TextSetErrorIds.CsvBadHeader, header.ErrorId);
    }

    [Fact]
    public void A_mail_message_is_read_as_its_subject_and_decoded_text_parts()
    {
        const string Mail = "From someone  Mon Jul 22 18:13:03 2002\nReceived: from relay.example (1.2.3.4)\n    by mx.example\nSubject: Cheap offer\n"
            + "Content-Type: multipart/alternative;\n\tboundary=\"XYZ\"\n\n"
            + "preamble\n--XYZ\nContent-Type: text/plain; charset=us-ascii\nContent-Transfer-Encoding: quoted-printable\n\nBuy n=\now at 50=25 off\n"
            + "--XYZ\nContent-Type: text/html\nContent-Transfer-Encoding: base64\n\nPGI+Ym9sZDwvYj4=\n"
            + "--XYZ\nContent-Type: image/gif\nContent-Transfer-Encoding: base64\n\nR0lGODlh\n--XYZ--\n";
        string text = MailText.Extract(Mail);
        Assert.StartsWith("Cheap offer\n", text);
        Assert.Contains("Buy now at 50% off", text);
        Assert.Contains("<b>bold</b>", text);
        Assert.DoesNotContain("relay.example", text);
        Assert.DoesNotContain("R0lGODlh", text);
        Assert.Equal("just a sentence: not mail\n\nsecond paragraph", MailText.Extract("just a sentence: not mail\n\nsecond paragraph"));
        // Parts without a declared multipart type, and quoted-printable without its header, as spam sends them.
        const string Undeclared = "Subject: hi\n\n--b1\nContent-Type: text/plain\n\nsee =3D here=20and=20there\n--b1--\n";
        Assert.Contains("see = here and there", MailText.Extract(Undeclared));
    }

    /// <summary>
    /// The SpamAssassin corpus as build.ps1 Data fetches it: trained on the earlier mail
    /// (easy-ham-1, hard-ham-1, spam-1) with the defaults (Start-HelloTraining's 3 epochs), tested
    /// on the later (easy-ham-2, spam-2). The targets are 97%, at most 1% of ham marked
    /// spam and at most 0.5% wrong among confident answers; the gates are 96.5% and 1.25% (other
    /// CPUs sum in another order), with the measured figures printed.
    /// </summary>
    [Fact]
    public void The_default_TextNgram_reads_the_later_SpamAssassin_mail()
    {
        string root = Path.Combine(Path.GetDirectoryName(MnistData.Folder)!, "spam-assassin");
        TextDataset Load(string name, params (string Group, string Label)[] groups)
        {
            var builder = new TextSetBuilder(name, root);
            foreach (var (group, label) in groups)
                foreach (var file in Directory.EnumerateFiles(Path.Combine(root, group)).Order(StringComparer.Ordinal))
                    builder.Add(new LabelledDocument(TextFiles.Read(file), label, file));
            return builder.Build();
        }
        var training = Load("spam-assassin-earlier", ("easy-ham-1", "ham"), ("hard-ham-1", "ham"), ("spam-1", "spam"));
        var test = Load("spam-assassin-later", ("easy-ham-2", "ham"), ("spam-2", "spam"));
        Assert.Equal(3250, training.Count);
        Assert.Equal(2796, test.Count);
        var model = Model.Create(Architecture.TextNgram, training.ClassNames);
        var epochs = new Trainer(model, new TrainingOptions { Epochs = 3, BatchSize = TrainingDefaults.BatchSizeFor(training.Count) }).Run(training).ToList();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var evaluation = Evaluator.Evaluate(model, test);
        output.WriteLine($"training {epochs.Select(e => e.ImagesPerSecond).Max():N0} messages/s (best epoch), classifying {test.Count / clock.Elapsed.TotalSeconds:N0} messages/s");
        double hamAsSpam = evaluation.ConfusionMatrix[0, 1] / 1400.0, spamAsHam = evaluation.ConfusionMatrix[1, 0] / 1396.0;
        var confident = Enumerable.Range(0, test.Count).Select(i => new ClassifierInput(null, Text: test.GetText(i), Actual: test.ClassNames[test.GetLabel(i)]))
            .Chunk(256).SelectMany(batch => Classifier.Classify(model, batch)).Where(r => r.IsConfident).ToList();
        double confidentWrong = (double)confident.Count(r => r.IsCorrect == false) / confident.Count;
        output.WriteLine($"later mail: accuracy {evaluation.Accuracy:P2}, ham marked spam {hamAsSpam:P2}, spam let through {spamAsHam:P2}; "
            + $"confident (>= {Classifier.DefaultMinimumConfidence:P0}) {confident.Count:N0} of {test.Count:N0}, of which wrong {confidentWrong:P2}");
        Assert.True(evaluation.Accuracy >= 0.965, $"accuracy {evaluation.Accuracy:P2}");
        Assert.True(hamAsSpam <= 0.0125, $"ham marked spam {hamAsSpam:P2}");
    }
}
