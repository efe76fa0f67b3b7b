using HelloDl.Data;
using HelloDl.Imaging;
using HelloDl.Inference;
using HelloDl.Nn;
using HelloDl.Tests.Kernels;
using HelloDl.Training;
using Xunit.Abstractions;

namespace HelloDl.Tests.Imaging;

/// <summary>
/// Two CNNs trained once for the scan tests: one on plain MNIST, one with scan augmentation,
/// both calibrated on a held-out part of the training set. Only MNIST *test* digits are ever
/// rendered into scans.
/// </summary>
public sealed class ScanModels
{
    public ScanModels()
    {
        var train = MnistData.Train.Select(Enumerable.Range(0, 55_000).ToArray());
        var validation = MnistData.Train.Select(Enumerable.Range(55_000, 5_000).ToArray());
        Plain = TrainCnn(train, validation, null);
        Scan = TrainCnn(train, validation, Augmentation.Scan);
    }

    public Model Plain { get; }
    public Model Scan { get; }

    static Model TrainCnn(ImageDataset train, ImageDataset validation, Augmentation? augmentation)
    {
        var model = Model.Create(Architecture.Cnn, train.ClassNames, seed: 1);
        var trainer = new Trainer(model, new TrainingOptions { Epochs = 2, Augmentation = augmentation });
        trainer.TrainEpoch(train);
        trainer.TrainEpoch(train);
        model.Temperature = Calibration.FitTemperature(model, validation);
        return model;
    }
}

[Collection(nameof(GlobalKernelSettings))]
public sealed class ScanReadingTests(ScanModels models, ITestOutputHelper output) : IClassFixture<ScanModels>, IDisposable
{
    readonly TempFolder _temp = new();
    public void Dispose() => _temp.Dispose();

    /// <summary>Single-digit scans of test digits, alternately PNG and JPEG (quality 60-95); returns accuracy.</summary>
    double SingleScanAccuracy(Model model, int count, int seed)
    {
        var random = new Random(seed);
        int right = 0;
        for (int i = 0; i < count; i++)
        {
            var sample = MnistData.Test.GetSample(i);
            using var page = ScanSimulator.SingleCharacter(sample.Image, random);
            string path = _temp.File($"scan-{i}.{(i % 2 == 0 ? "png" : "jpg")}");
            ScanSimulator.Save(page, path, 60 + random.Next(36));
            var image = MnistPreprocessor.ToMnist(ImageReader.Read(path));
            if (image is not null && Classifier.Classify(model, [new ClassifierInput(image)])[0].Label == sample.ClassName) right++;
        }
        return (double)right / count;
    }

    (double Exact, double CountRight) LineAccuracy(Model model, int lines, int seed)
    {
        var random = new Random(seed);
        int exact = 0, countRight = 0;
        for (int l = 0; l < lines; l++)
        {
            var digits = Enumerable.Range(0, random.Next(3, 9)).Select(_ => MnistData.Test.GetSample(random.Next(MnistData.Test.Count))).ToList();
            using var page = ScanSimulator.Line(digits.Select(d => d.Image).ToList(), random);
            string path = _temp.File($"line-{l}.png");
            ScanSimulator.Save(page, path);
            var characters = LineReader.Read(model, ImageReader.Read(path), path);
            if (characters.Count == digits.Count) countRight++;
            if (string.Concat(characters.Select(c => c.Label)) == string.Concat(digits.Select(d => d.ClassName))) exact++;
        }
        return ((double)exact / lines, (double)countRight / lines);
    }

    [Fact]
    public void Single_digit_scans_are_read_at_98_percent_or_better()
    {
        double scans = SingleScanAccuracy(models.Scan, 400, seed: 11);
        double mnist = Evaluator.Evaluate(models.Scan, MnistData.Test).Accuracy;
        output.WriteLine($"scan-augmented CNN: single-digit scans {scans:P2}, plain MNIST test {mnist:P2}");
        Assert.True(scans >= 0.98, $"single-digit scan accuracy {scans:P2}");
    }

    [Fact]
    public void Lines_of_digits_are_read_exactly_at_90_percent_or_better()
    {
        var (exact, countRight) = LineAccuracy(models.Scan, 120, seed: 12);
        output.WriteLine($"lines read exactly {exact:P1}; digit count right {countRight:P1}");
        Assert.True(countRight >= 0.97, $"digit count right in {countRight:P1} of lines");
        Assert.True(exact >= 0.90, $"lines read exactly: {exact:P1}");
    }

    /// <summary>
    /// On the same 1,500 single-digit scans and 200 scanned lines (each page rendered once and
    /// read by both models), the scan-augmented model reads at least about as many right (no more
    /// than 0.5% of the pages fewer) and costs at most 0.3 points of plain MNIST accuracy. It read
    /// a few more on the AVX-512 machines (Zen 4, Zen 5); on Zen 3, whose AVX2 kernels round
    /// differently and so train other models, 4 fewer of 1,700: both read these scans at about
    /// 98%, and the difference is within what another seed changes.
    /// </summary>
    [Fact]
    public void Scan_augmentation_reads_scans_as_well_and_costs_mnist_at_most_0_3_points()
    {
        var random = new Random(99);
        int singles = 1500, lines = 200, plainSingles = 0, augmentedSingles = 0, plainLines = 0, augmentedLines = 0;
        string page = _temp.File("page.jpg"), linePage = _temp.File("line.png");
        for (int i = 0; i < singles; i++)
        {
            var sample = MnistData.Test.GetSample(i);
            ScanSimulator.WriteSingleCharacter(sample.Image, random, page, 60 + random.Next(35));
            var image = MnistPreprocessor.ToMnist(ImageReader.Read(page));
            if (image is null) continue;
            if (Classifier.Classify(models.Plain, [new ClassifierInput(image)])[0].Label == sample.ClassName) plainSingles++;
            if (Classifier.Classify(models.Scan, [new ClassifierInput(image)])[0].Label == sample.ClassName) augmentedSingles++;
        }
        for (int l = 0; l < lines; l++)
        {
            var digits = Enumerable.Range(0, random.Next(3, 9)).Select(_ => MnistData.Test.GetSample(random.Next(MnistData.Test.Count))).ToList();
            ScanSimulator.WriteLine(digits.Select(d => d.Image).ToList(), random, linePage);
            var image = ImageReader.Read(linePage);
            string truth = string.Concat(digits.Select(d => d.ClassName));
            if (string.Concat(LineReader.Read(models.Plain, image, linePage).Select(c => c.Label)) == truth) plainLines++;
            if (string.Concat(LineReader.Read(models.Scan, image, linePage).Select(c => c.Label)) == truth) augmentedLines++;
        }
        double plainMnist = Evaluator.Evaluate(models.Plain, MnistData.Test).Accuracy, augmentedMnist = Evaluator.Evaluate(models.Scan, MnistData.Test).Accuracy;
        output.WriteLine($"plain:     single scans {plainSingles}/{singles}, lines {plainLines}/{lines}, MNIST {plainMnist:P2}");
        output.WriteLine($"augmented: single scans {augmentedSingles}/{singles}, lines {augmentedLines}/{lines}, MNIST {augmentedMnist:P2}");
        Assert.True(augmentedSingles + augmentedLines >= plainSingles + plainLines - (singles + lines) / 200, "scan augmentation should read about as many scans right");
        Assert.True(plainMnist - augmentedMnist <= 0.003, $"MNIST accuracy fell by {100 * (plainMnist - augmentedMnist):F2} points");
    }

    /// <summary>hello-dl chapter 7's promise kept: the int8 model reads as well as the float one, on MNIST and on scans.</summary>
    [Fact]
    public void The_int8_model_reads_mnist_and_scans_within_0_2_points_of_the_float_model()
    {
        var int8 = HelloDl.Quantization.Quantizer.Quantize(models.Scan, MnistData.Train.Select(Enumerable.Range(0, 55_000).ToArray()), 8);
        double floatMnist = Evaluator.Evaluate(models.Scan, MnistData.Test).Accuracy, int8Mnist = Evaluator.Evaluate(int8, MnistData.Test).Accuracy;
        // The same seed renders the same 1,500 scans for both.
        double floatScans = SingleScanAccuracy(models.Scan, 1500, seed: 21), int8Scans = SingleScanAccuracy(int8, 1500, seed: 21);
        output.WriteLine($"MNIST test: float {floatMnist:P2}, int8 {int8Mnist:P2}; 1,500 single-digit scans: float {floatScans:P2}, int8 {int8Scans:P2}");
        Assert.True(floatMnist - int8Mnist <= 0.002, $"int8 lost {100 * (floatMnist - int8Mnist):F2} points on MNIST");
        Assert.True(floatScans - int8Scans <= 0.002, $"int8 lost {100 * (floatScans - int8Scans):F2} points on scans");
    }

    [Fact]
    public void Calibration_makes_the_confidence_honest_and_finds_a_one_percent_threshold()
    {
        var evaluation = Evaluator.Evaluate(models.Scan, MnistData.Test);
        var risk = evaluation.RiskCoverage;
        output.WriteLine($"temperature {models.Scan.Temperature:F3}; threshold for <=1% error {risk.ThresholdForOnePercentError:F4} keeps {risk.CoverageAtOnePercentError:P1}");
        foreach (var p in risk.Points) output.WriteLine($"  >= {p.Threshold:F3}: coverage {p.Coverage:P1}, error {p.ErrorRate:P2}");
        Assert.NotNull(risk.ThresholdForOnePercentError);
        Assert.True(risk.CoverageAtOnePercentError > 0.95);
        // Coverage falls and error does not rise as the threshold rises.
        for (int i = 1; i < risk.Points.Count; i++)
        {
            Assert.True(risk.Points[i].Coverage <= risk.Points[i - 1].Coverage);
            Assert.True(risk.Points[i].ErrorRate <= risk.Points[i - 1].ErrorRate + 0.002);
        }
    }

    [Fact]
    public void Things_that_are_not_characters_mostly_come_out_not_confident()
    {
        var random = new Random(21);
        float threshold = (float)Evaluator.Evaluate(models.Scan, MnistData.Test).RiskCoverage.ThresholdForOnePercentError!.Value;
        int inputs = 0, notConfident = 0, blank = 0;
        var byKind = new Dictionary<string, (int Inputs, int NotConfident)>();
        foreach (var (kind, image) in NonCharacters(random))
        {
            inputs++;
            var digit = MnistPreprocessor.ToMnist(image);
            bool unsure = digit is null || Classifier.Classify(models.Scan, [new ClassifierInput(digit)], threshold)[0] is { IsConfident: false };
            if (digit is null) blank++;
            if (unsure) notConfident++;
            var (seen, flagged) = byKind.GetValueOrDefault(kind);
            byKind[kind] = (seen + 1, flagged + (unsure ? 1 : 0));
        }
        output.WriteLine($"{notConfident} of {inputs} non-characters not confident at threshold {threshold:F4} ({blank} found blank): " +
            string.Join(", ", byKind.Select(k => $"{k.Key} {k.Value.NotConfident}/{k.Value.Inputs}")));
        Assert.True(notConfident >= 0.5 * inputs, $"{notConfident} of {inputs} not confident");
    }

    /// <summary>Blank paper, photos of a wall (texture and blotches), and scribbles.</summary>
    static IEnumerable<(string Kind, LuminanceImage Image)> NonCharacters(Random random)
    {
        for (int i = 0; i < 20; i++)
        {
            int width = random.Next(100, 400), height = random.Next(100, 300);
            var blank = new float[width * height];
            for (int p = 0; p < blank.Length; p++) blank[p] = 0.9f + 0.03f * random.NextSingle() - 0.1f * p / blank.Length;
            yield return ("blank", new LuminanceImage(width, height, blank));

            var wall = new float[width * height];
            for (int p = 0; p < wall.Length; p++) wall[p] = 0.55f + 0.25f * random.NextSingle();
            for (int blot = 0; blot < 6; blot++)
            {
                int cx = random.Next(width), cy = random.Next(height), r = random.Next(5, 40);
                for (int y = Math.Max(0, cy - r); y < Math.Min(height, cy + r); y++)
                    for (int x = Math.Max(0, cx - r); x < Math.Min(width, cx + r); x++)
                        if ((x - cx) * (x - cx) + (y - cy) * (y - cy) < r * r) wall[y * width + x] *= 0.6f;
            }
            yield return ("wall", new LuminanceImage(width, height, wall));

            var scribble = Enumerable.Repeat(0.92f, width * height).ToArray();
            float px = width / 2f, py = height / 2f;
            for (int step = 0; step < 600; step++)
            {
                px = Math.Clamp(px + (random.NextSingle() - 0.5f) * 14, 2, width - 3);
                py = Math.Clamp(py + (random.NextSingle() - 0.5f) * 14, 2, height - 3);
                for (int dy = -2; dy <= 2; dy++) for (int dx = -2; dx <= 2; dx++) scribble[((int)py + dy) * width + (int)px + dx] = 0.1f;
            }
            yield return ("scribble", new LuminanceImage(width, height, scribble));
        }
    }
}

public sealed class SegmentationTests : IDisposable
{
    readonly TempFolder _temp = new();
    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Lines_are_cut_into_the_right_number_of_characters()
    {
        var random = new Random(31);
        int right = 0;
        for (int l = 0; l < 40; l++)
        {
            int count = random.Next(3, 9);
            var glyphs = Enumerable.Range(0, count).Select(_ => MnistData.Test.GetSample(random.Next(MnistData.Test.Count)).Image).ToList();
            using var page = ScanSimulator.Line(glyphs, random);
            string path = _temp.File($"line{l}.png");
            ScanSimulator.Save(page, path);
            var boxes = LineSegmenter.Segment(InkFinder.Find(ImageReader.Read(path)));
            if (boxes.Count == count && boxes.All(b => b.Line == 1) && boxes.Select(b => b.Index).SequenceEqual(Enumerable.Range(1, count))
                && boxes.Zip(boxes.Skip(1)).All(p => p.First.X < p.Second.X)) right++;
        }
        Assert.True(right >= 38, $"{right} of 40 lines cut right");
    }

    [Fact]
    public void Two_lines_are_read_top_to_bottom()
    {
        var top = Enumerable.Range(0, 3).Select(i => MnistData.Test.GetSample(i).Image).ToList();
        var bottom = Enumerable.Range(3, 4).Select(i => MnistData.Test.GetSample(i).Image).ToList();
        using var first = ScanSimulator.Line(top, new Random(1));
        using var second = ScanSimulator.Line(bottom, new Random(2));
        int width = Math.Max(first.Width, second.Width), height = first.Height + second.Height;
        var pixels = Enumerable.Repeat(0.9f, width * height).ToArray();
        void Copy(SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.Rgb24> image, int offset)
        {
            for (int y = 0; y < image.Height; y++)
                for (int x = 0; x < image.Width; x++) pixels[(offset + y) * width + x] = image[x, y].G / 255f;
        }
        Copy(first, 0);
        Copy(second, first.Height);
        var boxes = LineSegmenter.Segment(InkFinder.Find(new LuminanceImage(width, height, pixels)));
        Assert.Equal([1, 1, 1, 2, 2, 2, 2], boxes.Select(b => b.Line));
    }

    [Fact]
    public void A_detached_top_bar_is_merged_into_its_five()
    {
        // A 5 drawn in two strokes: the body, and a bar with a gap above it, a little to the right.
        var five = new float[120 * 100];
        Array.Fill(five, 0.95f);
        void Stroke(int x0, int y0, int x1, int y1)
        {
            for (int t = 0; t <= 200; t++)
            {
                int x = x0 + (x1 - x0) * t / 200, y = y0 + (y1 - y0) * t / 200;
                for (int dy = -3; dy <= 3; dy++) for (int dx = -3; dx <= 3; dx++) five[(y + dy) * 100 + x + dx] = 0.1f;
            }
        }
        Stroke(35, 30, 32, 60);     // the stem
        Stroke(32, 60, 62, 62);     // the belly, drawn as two lines
        Stroke(62, 62, 55, 95);
        Stroke(55, 95, 25, 92);
        Stroke(45, 18, 78, 16);     // the detached bar
        var boxes = LineSegmenter.Segment(InkFinder.Find(new LuminanceImage(100, 120, five)));
        Assert.Single(boxes);
    }

    [Fact]
    public void Specks_and_ruled_lines_alone_are_blank()
    {
        var page = Enumerable.Repeat(0.93f, 400 * 300).ToArray();
        for (int y = 40; y < 300; y += 45) for (int x = 0; x < 400; x++) page[y * 400 + x] = 0.6f;
        var random = new Random(3);
        for (int s = 0; s < 10; s++) page[random.Next(page.Length)] = 0.2f;
        Assert.True(InkFinder.Find(new LuminanceImage(400, 300, page)).IsBlank);
    }
}
