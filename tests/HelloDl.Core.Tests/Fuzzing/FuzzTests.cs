using System.IO.Compression;
using HelloDl.Data;
using HelloDl.Imaging;
using HelloDl.Inference;
using HelloDl.Nn;
using HelloDl.Optim;
using HelloDl.Serialization;
using HelloDl.Tests.Data;
using HelloDl.Tests.Imaging;
using HelloDl.Tests.Serialization;
using HelloDl.Text;
using HelloDl.Training;
using Xunit.Abstractions;

namespace HelloDl.Tests.Fuzzing;

/// <summary>
/// Thousands of damaged copies of every kind of file HelloDl reads. Each must give a documented
/// error id or a right result: an image that decodes, a model or checkpoint that loads only
/// when it is exactly the one written (never one that predicts differently), a data set or log
/// that reads. Nothing else, no hang, no runaway allocation (<see cref="FuzzRun"/>).
/// </summary>
public sealed class FuzzTests(ITestOutputHelper output) : IDisposable
{
    const int Seed = 20261202;
    readonly TempFolder _temp = new();
    public void Dispose() => _temp.Dispose();

    public static TheoryData<string> ImageEncodings => ImageIntegrityTests.Encodings;

    [Theory, MemberData(nameof(ImageEncodings))]
    public void Images(string encoding) =>
        new FuzzRun($"image {encoding}").Run(ImageIntegrityTests.Encode(encoding), Seed, 2_000, bytes =>
        {
            var image = ImageReader.Decode(bytes, $"fuzz.{encoding}");
            return MnistPreprocessor.ToMnist(image) is null ? "read, blank" : "read";
        }).Report(output);

    static readonly string[] Digits = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

    [Theory]
    [InlineData(Architecture.Linear, 0, 3_000)]
    [InlineData(Architecture.Cnn, 0, 2_000)]
    [InlineData(Architecture.Mlp, 8, 2_000)]
    [InlineData(Architecture.Cnn, 4, 2_000)]
    public void Model_files(Architecture architecture, int quantizedBits, int cases)
    {
        string path = _temp.File("model.safetensors");
        var model = Model.Create(architecture, Digits, seed: 11);
        model.Temperature = 1.3f;
        if (quantizedBits > 0) model = HelloDl.Quantization.Quantizer.Quantize(model, MnistData.Test.Select(Enumerable.Range(0, 256).ToArray()), quantizedBits);
        ModelFile.Save(model, path);
        var expected = ModelFileTests.Predict(model);
        new FuzzRun($"model file ({architecture}{(quantizedBits > 0 ? $", {quantizedBits}-bit" : "")})").Run(File.ReadAllBytes(path), Seed, cases, bytes =>
        {
            File.WriteAllBytes(path, bytes);
            var loaded = ModelFile.Load(path);
            return ModelFileTests.Predict(loaded).SequenceEqual(expected) && loaded.ClassNames.SequenceEqual(Digits) ? "loaded, same predictions"
                : throw new FuzzFailure("a damaged file loaded and predicts differently");
        }).Report(output);
    }

    static readonly string[] Probe = ["please review the kernel patch", "you are a winner, claim your prize money now", "", "Subject: hi\n\nsee =3D you"];

    /// <summary>Small text models, so that a case reads in milliseconds; the language model's classes are the 256 bytes.</summary>
    public static TheoryData<string> TextModels => ["TextNgram", "Gru", "Gru language model"];

    [Theory, MemberData(nameof(TextModels))]
    public void Text_model_files(string kind)
    {
        string path = _temp.File("text.safetensors");
        var model = kind switch
        {
            "TextNgram" => Model.Create(Architecture.TextNgram, ["ham", "spam"], seed: 11, hiddenSize: 8, textFeatures: new HashedNgrams { Buckets = 1 << 10, MaximumFeatures = 64 }),
            "Gru" => Model.Create(Architecture.Gru, ["ham", "spam"], seed: 11, hiddenSize: 8, sequences: new ByteSequences { Length = 24 }),
            _ => Model.Create(Architecture.Gru, [], seed: 11, hiddenSize: 8, sequences: new ByteSequences { Length = 24 }, objective: Objective.NextCharacter),
        };
        model.Temperature = 1.3f;
        ModelFile.Save(model, path);
        string Read(Model m) => m.Objective == Objective.NextCharacter ? TextSampler.Sample(m, "the ", 12, 1, seed: 3)
            : string.Join(";", Classifier.Classify(m, Probe.Select(t => new ClassifierInput(null, Text: t)).ToList()).Select(r => $"{r.Label} {r.Confidence:R}"));
        string expected = Read(model);
        new FuzzRun($"model file ({kind})").Run(File.ReadAllBytes(path), Seed, 1_000, bytes =>
        {
            File.WriteAllBytes(path, bytes);
            var loaded = ModelFile.Load(path);
            return Read(loaded) == expected && loaded.Objective == model.Objective ? "loaded, same answers"
                : throw new FuzzFailure("a damaged file loaded and answers differently");
        }).Report(output);
    }

    /// <summary>A raw multipart mail: every case is decoded, read as mail and encoded for both text models, or refused as binary.</summary>
    [Fact]
    public void Text_documents()
    {
        const string Mail = "From x@example.org  Mon Jul 22 18:13:03 2002\nSubject: Cheap offer\nContent-Type: multipart/alternative; boundary=\"XYZ\"\n\n"
            + "--XYZ\nContent-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\nBuy n=\now at 50=25 off =E9t=E9\n"
            + "--XYZ\nContent-Type: text/html\nContent-Transfer-Encoding: base64\n\nPGI+Ym9sZDwvYj4=\n--XYZ--\n";
        var hashing = new HashedNgrams { Buckets = 1 << 10, MaximumFeatures = 64 };
        var bytesInput = new ByteSequenceInput(new ByteSequences { Length = 64 });
        var pairs = new float[2 * hashing.MaximumFeatures];
        var sequence = new float[64];
        new FuzzRun("text document (mail)").Run(System.Text.Encoding.UTF8.GetBytes(Mail), Seed, 3_000, bytes =>
        {
            string text = TextFiles.Decode(bytes, "fuzz.eml");
            int features = hashing.Write(MailText.Extract(text), pairs);
            bytesInput.WriteDocument(text, sequence);
            return features > 0 ? "read" : "read, no features";
        }).Report(output);
    }

    [Fact]
    public void Text_set_csvs()
    {
        string path = _temp.File("documents.csv");
        var csv = "id,text,label\n" + string.Join("\n", Enumerable.Range(0, 20).Select(i => $"{i},\"line one, of {i}\nline \"\"two\"\"\",{(i % 3 == 0 ? "spam" : "ham")}")) + "\n";
        new FuzzRun("text set CSV").Run(System.Text.Encoding.UTF8.GetBytes(csv), Seed, 2_000, bytes =>
        {
            File.WriteAllBytes(path, bytes);
            var (documents, problems) = TextCsv.Read(path, "text", "label", null);
            return problems.Count == 0 ? "read" : "read, records reported";
        }).Report(output);
    }

    [Fact]
    public void Checkpoints()
    {
        string path = _temp.File("checkpoint.safetensors");
        var model = Model.Create(Architecture.Linear, Digits, seed: 12);
        var optimizer = Optimizer.Create(OptimizerKind.Adam, model.Values, model.Gradients);
        var random = new Random(1);
        for (int step = 0; step < 3; step++)
        {
            for (int i = 0; i < model.Gradients.Length; i++) model.Gradients[i] = (float)random.NextDouble() - 0.5f;
            optimizer.Step(0.01f);
        }
        ModelFile.SaveCheckpoint(model, path, completedEpochs: 2, optimizer);
        new FuzzRun("checkpoint").Run(File.ReadAllBytes(path), Seed, 2_000, bytes =>
        {
            File.WriteAllBytes(path, bytes);
            var loaded = ModelFile.LoadCheckpoint(path);
            bool same = loaded.Model.Values.SequenceEqual(model.Values) && loaded.CompletedEpochs == 2 && loaded.OptimizerSteps == 3
                && loaded.Optimizer == OptimizerKind.Adam && optimizer.State.All(s => loaded.OptimizerState[s.Key].SequenceEqual(s.Value));
            return same ? "loaded, same checkpoint" : throw new FuzzFailure("a damaged checkpoint loaded with other contents");
        }).Report(output);
    }

    static readonly byte[] IdxImages = IdxBytes.Images(12, 28, 28, IdxBytes.Asymmetric);
    static readonly byte[] IdxLabels = IdxBytes.Labels([.. Enumerable.Range(0, 12).Select(i => (byte)(i % 10))]);

    /// <summary>IDX has no checksum: a damaged pixel reads as another pixel, which is counted, not hidden.</summary>
    static string Compare(byte[] read, byte[] original) => read.SequenceEqual(original) ? "read, same data" : "read, data changed";

    [Fact]
    public void Idx_raw() =>
        new FuzzRun("IDX images").Run(IdxImages, Seed, 2_000, bytes =>
            Compare(IdxReader.ReadImages(new MemoryStream(bytes), "fuzz-images-idx3-ubyte", bytes.Length).Pixels, IdxImages[16..])).Report(output);

    [Fact]
    public void Idx_labels() =>
        new FuzzRun("IDX labels").Run(IdxLabels, Seed, 2_000, bytes =>
            Compare(IdxReader.ReadLabels(new MemoryStream(bytes), "fuzz-labels-idx1-ubyte", bytes.Length), IdxLabels[8..])).Report(output);

    [Fact]
    public void Idx_gzip() =>
        new FuzzRun("IDX images, gzip").Run(IdxBytes.Gzip(IdxImages), Seed, 2_000, bytes =>
        {
            using var gzip = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
            return Compare(IdxReader.ReadImages(gzip, "fuzz-images-idx3-ubyte.gz", null).Pixels, IdxImages[16..]);
        }).Report(output);

    [Fact]
    public void Image_set_manifests()
    {
        string path = _temp.File("manifest.csv");
        var manifest = "file,label,note\n" + string.Join("\n", Enumerable.Range(0, 30).Select(i => $"scans/{i:D3}.png,{i % 10},\"page {i}, \"\"left\"\"\""))
            + "\n\"scans/with,comma.png\",7,x\n";
        new FuzzRun("image set manifest (CSV)").Run(System.Text.Encoding.UTF8.GetBytes(manifest), Seed, 2_000, bytes =>
        {
            File.WriteAllBytes(path, bytes);
            var (files, problems) = ImageManifest.Read(path);
            return problems.Count == 0 ? "read" : "read, lines reported";
        }).Report(output);
    }

    [Fact]
    public void Training_logs()
    {
        string path = _temp.File("log.sqlite");
        var run = new RunDescription("Mlp", Digits, "mnist-train", "mnist-test", 2, 64, "Adam", 0.005, 1, 1234);
        using (var log = new TrainingLog(path, run))
        {
            for (int b = 1; b <= 100; b++) log.LogBatch(new BatchProgress(1, b, 100, 64, 1.0 / b, 0.5, 1.0 / b, 0.5, 1000, 0.005f, TimeSpan.FromSeconds(b)));
            log.LogConfusion(new ConfusionMatrix(Digits, new int[10, 10]));
        }
        var original = File.ReadAllBytes(path);
        new FuzzRun("training log (SQLite)").Run(original, Seed, 2_000, bytes =>
        {
            foreach (var stale in new[] { path, path + "-wal", path + "-shm" }) File.Delete(stale);
            File.WriteAllBytes(path, bytes);
            int rows = TrainingLogReader.Runs(path).Count + TrainingLogReader.Batches(path, null).Count
                + TrainingLogReader.Validations(path, null).Count + TrainingLogReader.Confusion(path, null).Count;
            return rows == 1 + 100 + 100 ? "read, same rows" : "read, rows changed";
        }).Report(output);
    }
}
