using System.Diagnostics;
using HelloDl.Autograd;
using HelloDl.Bench;
using HelloDl.Data;
using HelloDl.Imaging;
using HelloDl.Inference;
using HelloDl.Kernels;
using HelloDl.Nn;
using HelloDl.Training;

// `build.ps1 Bench`: prints the machine's peak, matrix-multiply GFLOP/s at the models' shapes,
// and training and inference throughput of hello-dl's MLP and CNN on real MNIST, for 1 and 2 threads.
string mnistFolder = args.Length > 0 ? args[0] : "data/mnist";
int[] threadCounts = Environment.ProcessorCount >= 2 ? [1, 2] : [1];

Console.WriteLine($"# HelloDl benchmark ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC)");
Console.WriteLine($"CPU: {MachinePeak.ModelName} ({MachinePeak.Vendor}), {Environment.ProcessorCount} cores, SIMD path {Gemm.Best}, .NET {Environment.Version}");
Console.WriteLine();
Console.WriteLine("## Peak");
var measuredPeak = threadCounts.ToDictionary(t => t, MachinePeak.MeasuredGflops);
foreach (int t in threadCounts)
    Console.WriteLine($"- {t} thread(s): theoretical {MachinePeak.Derivation(t)} at the nominal clock; measured FMA-only loop {measuredPeak[t]:F0} GFLOP/s (turbo clock)");

Console.WriteLine();
Console.WriteLine("## Matrix multiply C[m,n] = A[m,k] B[k,n] (float32)");
Console.WriteLine("| shape m x n x k | used by | threads | GFLOP/s | % of measured peak | % of theoretical |");
Console.WriteLine("|---|---|---|---|---|---|");
var shapes = new (int M, int N, int K, bool TransB, string Use)[]
{
    (64, 128, 784, true, "MLP fc1 forward (x Wᵀ)"),
    (64, 64, 128, true, "MLP fc2 forward"),
    (32, 43264, 9, false, "CNN c1 (im2col, batch 64)"),
    (64, 7744, 288, false, "CNN c2 (im2col, batch 64)"),
    (128, 1024, 576, false, "CNN c3 (im2col, batch 64)"),
    (512, 512, 512, false, "square"),
};
foreach (var shape in shapes)
    foreach (int t in threadCounts)
    {
        Parallelism.MaxThreads = t;
        double gflops = GemmGflops(shape.M, shape.N, shape.K, shape.TransB);
        Console.WriteLine($"| {shape.M}x{shape.N}x{shape.K} | {shape.Use} | {t} | {gflops:F1} | {100 * gflops / measuredPeak[t]:F0}% | {100 * gflops / MachinePeak.TheoreticalGflops(t):F0}% |");
    }

Console.WriteLine();
var clock = Stopwatch.StartNew();
var train = EmnistLoader.Load(mnistFolder, split: DatasetSplit.Train);
double loadMs = clock.Elapsed.TotalMilliseconds;
var test = EmnistLoader.Load(mnistFolder, split: DatasetSplit.Test);
Console.WriteLine($"MNIST training set (60,000 images) loaded in {loadMs:F0} ms");
Console.WriteLine();
Console.WriteLine("## Training and inference on MNIST (batch 64 training, batch 256 inference)");
Console.WriteLine("| model | threads | images trained | train img/s | test accuracy | infer img/s | managed bytes allocated per batch |");
Console.WriteLine("|---|---|---|---|---|---|---|");
foreach (var (architecture, optimizer, images) in new[] { (Architecture.Mlp, OptimizerKind.Sgd, 60_000), (Architecture.Cnn, OptimizerKind.Adam, 19_200) })
    foreach (int t in threadCounts)
    {
        Parallelism.MaxThreads = t;
        var subset = images == train.Count ? train : train.Select(Enumerable.Range(0, images).ToArray());
        var model = Model.Create(architecture, train.ClassNames, seed: 1);
        var trainer = new Trainer(model, new TrainingOptions { Optimizer = optimizer, LearningRate = optimizer == OptimizerKind.Sgd ? 0.05f : null });
        trainer.TrainEpoch(train.Select(Enumerable.Range(0, 64 * 20).ToArray()));   // warm-up: JIT and buffers
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var epoch = trainer.TrainEpoch(subset);
        long perBatch = (GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore) / ((subset.Count + 63) / 64);
        var inference = Stopwatch.StartNew();
        var evaluation = Evaluator.Evaluate(model, test);
        double inferPerSecond = test.Count / inference.Elapsed.TotalSeconds;
        Console.WriteLine($"| {architecture} | {t} | {subset.Count:N0} | {epoch.ImagesPerSecond:N0} | {evaluation.Accuracy:P2} | {inferPerSecond:N0} | {perBatch:N0} |");
    }
Parallelism.MaxThreads = Environment.ProcessorCount;

Console.WriteLine();
Console.WriteLine($"## Where a CNN training step goes ({Environment.ProcessorCount} threads, batch 64, ms per batch; forward includes the glue before each op)");
Console.WriteLine("| # | op | forward ms | backward ms |");
Console.WriteLine("|---|---|---|---|");
{
    var model = Model.Create(Architecture.Cnn, train.ClassNames, seed: 1);
    var trainer = new Trainer(model, new TrainingOptions { Optimizer = OptimizerKind.Adam });
    var warmUp = train.Select(Enumerable.Range(0, 64 * 10).ToArray());
    trainer.TrainEpoch(warmUp);
    var profile = new OpProfile();
    trainer.Profile = profile;
    var epoch = trainer.TrainEpoch(train.Select(Enumerable.Range(0, 64 * 100).ToArray()));
    int steps = profile.Steps;
    for (int i = 0; i < profile.Rows.Count; i++)
        Console.WriteLine($"| {i} | {profile.Rows[i].Op} | {profile.Rows[i].Forward.TotalMilliseconds / steps:F2} | {profile.Rows[i].Backward.TotalMilliseconds / steps:F2} |");
    double forward = profile.Rows.Sum(r => r.Forward.TotalMilliseconds) / steps, backward = profile.Rows.Sum(r => r.Backward.TotalMilliseconds) / steps;
    double whole = epoch.Duration.TotalMilliseconds / steps;
    Console.WriteLine($"| | total | {forward:F2} | {backward:F2} |");
    Console.WriteLine($"| | rest of the step (batching, zeroing gradients, Adam) | {whole - forward - backward:F2} | |");
}

Console.WriteLine();
Console.WriteLine($"## How cost grows ({Environment.ProcessorCount} threads, one pass over the images named)");
Console.WriteLine("| model | batch | images | train img/s |");
Console.WriteLine("|---|---|---|---|");
foreach (var (architecture, images, hidden) in new[] { (Architecture.Mlp, 30_000, 128), (Architecture.Cnn, 6_400, 128) })
    foreach (int batch in new[] { 16, 64, 256 })
        Console.WriteLine($"| {architecture} | {batch} | {images:N0} | {TrainingSpeed(architecture, hidden, batch, images):N0} |");
foreach (int width in new[] { 128, 512, 2048 })
    Console.WriteLine($"| Mlp 784-{width}-64-10 | 64 | 30,000 | {TrainingSpeed(Architecture.Mlp, width, 64, 30_000):N0} |");

Console.WriteLine();
Console.WriteLine("## End-to-end classification of image files (decode, find ink, 28x28, CNN in batches of 64; one thread of pipeline as Invoke-HelloClassify)");
var classifier = Model.Create(Architecture.Cnn, train.ClassNames, seed: 1);
string files = Path.Combine(Path.GetTempPath(), $"hellodl-bench-files-{Environment.ProcessId}");
Directory.CreateDirectory(files);
var pngs = Enumerable.Range(0, 1000).Select(i => { string f = Path.Combine(files, $"digit-{i}.png"); Pictures.SaveImage(test.GetSample(i).Image, f); return f; }).ToList();
var scanRandom = new Random(3);
var jpegs = Enumerable.Range(0, 200).Select(i => { string f = Path.Combine(files, $"scan-{i}.jpg"); ScanSimulator.WriteSingleCharacter(test.GetSample(i).Image, scanRandom, f); return f; }).ToList();
var scanSizes = jpegs.Select(f => ImageReader.Read(f)).Select(l => l.Width * l.Height).ToList();
Console.WriteLine($"- 1,000 PNG digits (28x28): {FilesPerSecond(classifier, pngs):N0} files/s");
Console.WriteLine($"- 200 JPEG scans ({scanSizes.Average() / 1000:N0} kilopixels on average, {Math.Sqrt(scanSizes.Min()):N0}-{Math.Sqrt(scanSizes.Max()):N0} px a side): {FilesPerSecond(classifier, jpegs):N0} files/s");
Directory.Delete(files, recursive: true);

Console.WriteLine();
Console.WriteLine("## Cost of the SQLite training log (MLP, one epoch of 60,000 images, batch 64, runs alternated)");
string logPath = Path.Combine(Path.GetTempPath(), $"hellodl-bench-{Environment.ProcessId}.sqlite");
var withoutLog = new List<double>();
var withLog = new List<double>();
var logged = Model.Create(Architecture.Mlp, train.ClassNames, seed: 1);
var loggedTrainer = new Trainer(logged, new TrainingOptions { Optimizer = OptimizerKind.Sgd, LearningRate = 0.05f, Epochs = 100 });
using (var log = new TrainingLog(logPath, new RunDescription("Mlp", train.ClassNames, train.Name, null, 100, 64, "Sgd", 0.05, 1, logged.ParameterCount)))
{
    for (int round = 0; round < 3; round++)
    {
        // Wall time of the whole epoch, the log's writes and its per-epoch commit included.
        var wall = Stopwatch.StartNew();
        loggedTrainer.TrainEpoch(train);
        withoutLog.Add(train.Count / wall.Elapsed.TotalSeconds);
        wall.Restart();
        log.LogEpoch(loggedTrainer.TrainEpoch(train, progress: log.LogBatch));
        withLog.Add(train.Count / wall.Elapsed.TotalSeconds);
    }
}
foreach (var file in Directory.GetFiles(Path.GetDirectoryName(logPath)!, Path.GetFileName(logPath) + "*")) File.Delete(file);
double medianWithout = withoutLog.Order().ElementAt(1), medianWith = withLog.Order().ElementAt(1);
Console.WriteLine($"without log {medianWithout:N0} img/s, with log {medianWith:N0} img/s (wall time, each epoch's commit included; medians of 3): {100 * (1 - medianWith / medianWithout):F1}% slower");

double TrainingSpeed(Architecture architecture, int hidden, int batch, int images)
{
    var model = Model.Create(architecture, train.ClassNames, seed: 1, hiddenSize: hidden);
    var trainer = new Trainer(model, new TrainingOptions { BatchSize = batch, Optimizer = architecture == Architecture.Mlp ? OptimizerKind.Sgd : OptimizerKind.Adam, LearningRate = architecture == Architecture.Mlp ? 0.05f : null });
    trainer.TrainEpoch(train.Select(Enumerable.Range(0, batch * 10).ToArray()));   // warm-up
    return trainer.TrainEpoch(train.Select(Enumerable.Range(0, images).ToArray())).ImagesPerSecond;
}

static double FilesPerSecond(Model model, IReadOnlyList<string> paths)
{
    var clock = Stopwatch.StartNew();
    var pending = new List<ClassifierInput>();
    int results = 0;
    foreach (var path in paths)
    {
        pending.Add(new ClassifierInput(MnistPreprocessor.ToMnist(ImageReader.Read(path)), path));
        if (pending.Count == 64) { results += Classifier.Classify(model, pending).Length; pending.Clear(); }
    }
    results += Classifier.Classify(model, pending).Length;
    return results / clock.Elapsed.TotalSeconds;
}

static double GemmGflops(int m, int n, int k, bool transB)
{
    var a = new float[m * k]; var b = new float[k * n]; var c = new float[m * n];
    var random = new Random(1);
    for (int i = 0; i < a.Length; i++) a[i] = random.NextSingle();
    for (int i = 0; i < b.Length; i++) b[i] = random.NextSingle();
    for (int w = 0; w < 20; w++) Gemm.Multiply(a, false, b, transB, c, m, n, k);
    int reps = 0;
    var clock = Stopwatch.StartNew();
    while (clock.ElapsedMilliseconds < 400) { Gemm.Multiply(a, false, b, transB, c, m, n, k); reps++; }
    return 2.0 * m * n * k * reps / clock.Elapsed.TotalSeconds / 1e9;
}
