using System.Diagnostics;
using HelloDl.Autograd;
using HelloDl.Bench;
using HelloDl.Data;
using HelloDl.Imaging;
using HelloDl.Inference;
using HelloDl.Kernels;
using HelloDl.Nn;
using HelloDl.Optim;
using HelloDl.Quantization;
using HelloDl.Text;
using HelloDl.Training;

// `build.ps1 Bench`: the machine's peak, matrix-multiply GFLOP/s at the models' shapes, training
// and inference throughput of hello-dl's MLP and CNN on real MNIST (1 and 2 threads), the same
// models quantised to 8 and 4 bits (accuracy, inference speed beside float, file size), where a CNN
// step's time goes, how cost grows, end-to-end files/s, memory on an EMNIST ByClass-sized set,
// the text models on the SpamAssassin corpus and the cost of the SQLite log; then one summary table.
// Usage: HelloDl.Bench [mnist folder] [section ...]; sections: kernels models quantized profile growth files memory text log.
string mnistFolder = args.Length > 0 ? args[0] : "data/mnist";
var sections = args.Skip(1).Select(a => a.ToLowerInvariant()).ToHashSet();
string[] known = ["kernels", "models", "quantized", "profile", "growth", "files", "memory", "text", "log"];
if (sections.Except(known).FirstOrDefault() is string unknown)
{
    Console.Error.WriteLine($"Unknown section '{unknown}'; sections are: {string.Join(", ", known)}.");
    return 2;
}
bool Wants(string section) => sections.Count == 0 || sections.Contains(section);
int[] threadCounts = Environment.ProcessorCount >= 2 ? [1, 2] : [1];
int allThreads = Environment.ProcessorCount;
var summary = new List<(string Measure, string OneThread, string AllThreads, string Target)>();

Console.WriteLine($"# HelloDl benchmark ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC)");
Console.WriteLine($"CPU: {CpuDescription.Current}, {allThreads} cores, .NET {Environment.Version}");
Console.WriteLine($"Kernels: {KernelPlan.Current}");

var clock = Stopwatch.StartNew();
var train = EmnistLoader.Load(mnistFolder, split: DatasetSplit.Train);
double loadMs = clock.Elapsed.TotalMilliseconds;
var test = EmnistLoader.Load(mnistFolder, split: DatasetSplit.Test);
Console.WriteLine($"MNIST training set (60,000 images) loaded in {loadMs:F0} ms");
summary.Add(("MNIST training set load (ms)", "", $"{loadMs:F0}", ""));

if (Wants("kernels"))
{
    Console.WriteLine();
    var shapes = new (int M, int N, int K, bool TransB, string Use)[]
    {
        (64, 128, 784, true, "MLP fc1 forward, batch 64 (x Wᵀ), dense: where SparseInput is not taken"),
        (256, 128, 784, true, "MLP fc1 inference, batch 256, dense: likewise"),
        (32, 676, 9, false, "CNN c1, one image's im2col product"),
        (64, 63, 32, true, "CNN c2, one of 36 Winograd forward products (7 images)"),
        (64, 72, 32, true, "CNN c2, the same for 8 images (three panels, the last a quarter full)"),
        (128, 32, 64, true, "CNN c3, one of 36 Winograd forward products (32 images)"),
        (512, 512, 512, false, "square"),
    };
    // The peak is measured before and after the products and the faster kept: a moment's load from
    // another process (the build that launched this one, say) can only slow a measurement, and
    // once it took the two-thread peak to 152 GFLOP/s against 234 measured a minute later.
    var measuredPeak = threadCounts.ToDictionary(t => t, MachinePeak.MeasuredGflops);
    var gemmRates = shapes.Select(shape => threadCounts.ToDictionary(t => t, t =>
    {
        Parallelism.MaxThreads = t;
        return GemmRate(shape.M, shape.N, shape.K, shape.TransB, t);
    })).ToList();
    Parallelism.MaxThreads = allThreads;
    foreach (int t in threadCounts) measuredPeak[t] = Math.Max(measuredPeak[t], MachinePeak.MeasuredGflops(t));

    Console.WriteLine("## Peak");
    foreach (int t in threadCounts)
        Console.WriteLine($"- {t} thread(s): theoretical {MachinePeak.Derivation(t)} at the nominal clock; measured FMA-only loop {measuredPeak[t]:F0} GFLOP/s (turbo clock; the better of before and after the products)");
    Console.WriteLine();
    Console.WriteLine("## Matrix multiply C[m,n] = A[m,k] op(B) (float32; 10 timed rounds, each after a short FMA-only loop on as many threads)");
    Console.WriteLine("| shape m x n x k | used by | threads | GFLOP/s, best round | % of the FMA loop timed before it, median of the rounds (range) | best round, % of the peak above | % of theoretical |");
    Console.WriteLine("|---|---|---|---|---|---|---|");
    foreach (var (shape, byThreads) in shapes.Zip(gemmRates))
    {
        foreach (var (t, rate) in byThreads)
            Console.WriteLine($"| {shape.M}x{shape.N}x{shape.K} | {shape.Use} | {t} | {rate.Gflops:F1} | {100 * rate.MedianShare:F0}% ({100 * rate.LowestShare:F0}-{100 * rate.HighestShare:F0}%) | " +
                $"{100 * rate.Gflops / measuredPeak[t]:F0}% | {100 * rate.Gflops / MachinePeak.TheoreticalGflops(t):F0}% |");
        string Cell(int t) => $"{byThreads[t].Gflops:F0} ({100 * byThreads[t].MedianShare:F0}% of peak)";
        summary.Add(($"GEMM {shape.M}x{shape.N}x{shape.K} GFLOP/s", Cell(1), Cell(allThreads), ""));
    }

    // The MLP's first layer when predicting: over the pixels that are not blank (what the model
    // uses) against the dense product, on one thread, at random weights (the time does not depend on them).
    if (SparseInput.Supports(784, 128))
    {
        Parallelism.MaxThreads = 1;
        var encoder = new ImageInput(InputNormalization.Mnist);
        var images = new Batcher(test, 512, encoder).Batch(0).Input.Data.ToArray();
        var random = new Random(2);
        var weight = Enumerable.Range(0, 128 * 784).Select(_ => random.NextSingle() - 0.5f).ToArray();
        var bias = new float[128];
        var (transposed, start, y) = (new float[weight.Length], new float[128], new float[512 * 128]);
        float background = encoder.Normalization.Offset;
        SparseInput.Prepare(weight, bias, 128, 784, background, transposed, start);
        double dense = BestRate(() => Gemm.Multiply(images, false, weight, true, y, 512, 128, 784));
        double sparse = BestRate(() => SparseInput.Multiply(images, 512, 784, background, transposed, start, y, 128, relu: false));
        double inked = images.Count(v => v != background) / (double)images.Length;
        Parallelism.MaxThreads = allThreads;
        Console.WriteLine();
        Console.WriteLine($"MLP fc1 when predicting, 512 MNIST test images ({inked:P0} of the pixels inked), one thread: dense product {1e6 / dense:F0} µs, " +
            $"over the inked pixels (SparseInput) {1e6 / sparse:F0} µs: {sparse / dense:F2}x");
        summary.Add(("MLP fc1 predicting 512 images (µs): dense / inked pixels", $"{1e6 / dense:F0} / {1e6 / sparse:F0} ({sparse / dense:F2}x)", "", ""));

        // And when training, on all threads, a batch of 64: the forward pass (the sparse one makes
        // Wᵀ from the weights each time, as a step must, and adds the bias and ReLU the dense
        // product's time leaves out) and the weight gradient dW = dyᵀ x.
        var batch = new Batcher(test, 64, encoder).Batch(0).Input.Data.ToArray();
        var dy = Enumerable.Range(0, 64 * 128).Select(_ => random.NextSingle() - 0.5f).ToArray();
        var (hidden, dWeight) = (new float[64 * 128], new float[weight.Length]);
        var forwardScratch = new float[SparseInput.ForwardScratchLength(784, 128)];
        var gradientScratch = new float[SparseInput.WeightGradientScratchLength(64, 784, 128)];
        double denseForward = BestRate(() => Gemm.Multiply(batch, false, weight, true, hidden, 64, 128, 784));
        double sparseForward = BestRate(() => SparseInput.Forward(batch, 64, 784, background, weight, bias, hidden, 128, relu: true, forwardScratch));
        double denseGradient = BestRate(() => Gemm.Multiply(dy, true, batch, false, dWeight, 128, 784, 64));
        double sparseGradient = BestRate(() => SparseInput.WeightGradient(batch, 64, 784, background, dy, 128, dWeight, accumulate: false, gradientScratch));
        Console.WriteLine($"MLP fc1 when training, a batch of 64 ({batch.Count(v => v != background) / (double)batch.Length:P0} inked), {allThreads} thread(s): " +
            $"forward dense {1e6 / denseForward:F0} µs, inked pixels {1e6 / sparseForward:F0} µs ({sparseForward / denseForward:F2}x); " +
            $"weight gradient dense {1e6 / denseGradient:F0} µs, inked pixels {1e6 / sparseGradient:F0} µs ({sparseGradient / denseGradient:F2}x)");
        summary.Add(("MLP fc1 training, batch 64 (µs): forward dense / inked; dW dense / inked", "",
            $"{1e6 / denseForward:F0} / {1e6 / sparseForward:F0}; {1e6 / denseGradient:F0} / {1e6 / sparseGradient:F0}", ""));
    }
}

if (Wants("models"))
{
    // Before anything else trains here, as a user's first run after importing the module (which
    // starts the rehearsal): what is left of the first epoch's warm-up without PowerShell.
    TrainingWarmup.Start().Wait();
    var firstRun = new Trainer(Model.Create(Architecture.Mlp, train.ClassNames, seed: 1),
        new TrainingOptions { Optimizer = OptimizerKind.Sgd, LearningRate = 0.01f, Schedule = ScheduleKind.Constant, HoldOutFraction = 0 });
    var (first, second) = (firstRun.TrainEpoch(train), firstRun.TrainEpoch(train));
    double firstEpoch = first.ImagesPerSecond, secondEpoch = second.ImagesPerSecond;
    Console.WriteLine();
    Console.WriteLine($"MLP after the import's rehearsal ({allThreads} threads, SGD, batch 64): first epoch {firstEpoch:N0} img/s, second {secondEpoch:N0} ({firstEpoch / secondEpoch:P0}); " +
        $"steps whose kernels ran on one thread (probes, or while one was faster): {first.StepsOnOneThread} and {second.StepsOnOneThread} of 938");
    summary.Add(("MLP first epoch / second, after the rehearsal", "", $"{firstEpoch / secondEpoch:P0}", ">= 95%"));

    Console.WriteLine();
    Console.WriteLine("## Training (one epoch of 60,000 images, batch 64) and inference (10,000 test images, batch 512)");
    Console.WriteLine("| model | threads | train img/s | steps on one thread | test accuracy | infer img/s | managed bytes allocated per epoch | per batch |");
    Console.WriteLine("|---|---|---|---|---|---|---|---|");
    var targets = new Dictionary<Architecture, (int Train, int Infer)> { [Architecture.Mlp] = (150_000, 600_000), [Architecture.Cnn] = (6_000, 15_000) };
    foreach (var (architecture, optimizer) in new[] { (Architecture.Mlp, OptimizerKind.Sgd), (Architecture.Cnn, OptimizerKind.Adam) })
    {
        var trainCells = new Dictionary<int, string>();
        var inferCells = new Dictionary<int, string>();
        foreach (int t in threadCounts)
        {
            Parallelism.MaxThreads = t;
            var model = Model.Create(architecture, train.ClassNames, seed: 1);
            var trainer = new Trainer(model, new TrainingOptions { Optimizer = optimizer, LearningRate = optimizer == OptimizerKind.Sgd ? 0.01f : null });
            trainer.TrainEpoch(train.Select(Enumerable.Range(0, 64 * 20).ToArray()));   // warm-up: JIT and buffers
            Evaluator.Evaluate(model, test.Select(Enumerable.Range(0, 1024).ToArray()));
            long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
            var epoch = trainer.TrainEpoch(train);
            long perEpoch = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
            // Best of three passes over the test set, as the anchor reports its median of three.
            double inferPerSecond = 0;
            Evaluation? evaluation = null;
            for (int round = 0; round < 3; round++)
            {
                var inference = Stopwatch.StartNew();
                evaluation = Evaluator.Evaluate(model, test);
                inferPerSecond = Math.Max(inferPerSecond, test.Count / inference.Elapsed.TotalSeconds);
            }
            Console.WriteLine($"| {architecture} | {t} | {epoch.ImagesPerSecond:N0} | {epoch.StepsOnOneThread} | {evaluation!.Accuracy:P2} | {inferPerSecond:N0} | {perEpoch:N0} | {perEpoch / 938:N0} |");
            trainCells[t] = $"{epoch.ImagesPerSecond:N0}";
            inferCells[t] = $"{inferPerSecond:N0}";
            if (t == allThreads) summary.Add(($"{architecture} managed bytes allocated per training epoch", "", $"{perEpoch:N0} ({perEpoch / 938:N0} per batch)", "near zero per batch"));
        }
        summary.Add(($"{architecture} train img/s", trainCells[1], trainCells[allThreads], $">= {targets[architecture].Train:N0}"));
        summary.Add(($"{architecture} infer img/s (batch 512)", inferCells[1], inferCells[allThreads], $">= {targets[architecture].Infer:N0}"));
    }
    Parallelism.MaxThreads = allThreads;
}

if (Wants("quantized"))
{
    Console.WriteLine();
    Console.WriteLine($"## Quantised models (ConvertTo-HelloQuantizedModel, calibrated on the training set; int8 kernel path {Int8Gemm.Path})");
    Console.WriteLine("Each model trained one epoch on the 60,000 training images; inference over the 10,000 test images, float and quantised back to back, best of 3 passes each.");
    Console.WriteLine("| model | weights | test accuracy | threads | infer img/s | vs float | model file bytes | smaller by |");
    Console.WriteLine("|---|---|---|---|---|---|---|---|");
    string folder = Path.Combine(Path.GetTempPath(), $"hellodl-bench-{Environment.ProcessId}");
    Directory.CreateDirectory(folder);
    foreach (var (architecture, optimizer) in new[] { (Architecture.Mlp, OptimizerKind.Sgd), (Architecture.Cnn, OptimizerKind.Adam) })
    {
        var model = Model.Create(architecture, train.ClassNames, seed: 1);
        new Trainer(model, new TrainingOptions { Optimizer = optimizer, LearningRate = optimizer == OptimizerKind.Sgd ? 0.01f : null }).TrainEpoch(train);
        var variants = new (string Name, Model Model)[] { ("float32", model), ("int8", Quantizer.Quantize(model, train, 8)), ("4-bit", Quantizer.Quantize(model, train, 4)) };
        var sizes = variants.ToDictionary(v => v.Name, v =>
        {
            string path = Path.Combine(folder, $"{architecture}-{v.Name}.safetensors");
            HelloDl.Serialization.ModelFile.Save(v.Model, path);
            return new FileInfo(path).Length;
        });
        var accuracy = variants.ToDictionary(v => v.Name, v => Evaluator.Evaluate(v.Model, test).Accuracy);
        var ratios = new Dictionary<int, string>();
        foreach (int t in threadCounts)
        {
            Parallelism.MaxThreads = t;
            var speed = variants.ToDictionary(v => v.Name, v =>
            {
                Evaluator.Evaluate(v.Model, test.Select(Enumerable.Range(0, 1024).ToArray()));
                double best = 0;
                for (int round = 0; round < 3; round++)
                {
                    var inference = Stopwatch.StartNew();
                    Evaluator.Evaluate(v.Model, test);
                    best = Math.Max(best, test.Count / inference.Elapsed.TotalSeconds);
                }
                return best;
            });
            foreach (var (name, _) in variants)
                Console.WriteLine($"| {architecture} | {name} | {accuracy[name]:P2} | {t} | {speed[name]:N0} | {speed[name] / speed["float32"]:F2}x | {sizes[name]:N0} | {(double)sizes["float32"] / sizes[name]:F2}x |");
            ratios[t] = $"{speed["int8"] / speed["float32"]:F2}x ({speed["int8"]:N0} vs {speed["float32"]:N0} img/s)";
        }
        summary.Add(($"{architecture} int8 inference vs float ({Int8Gemm.Path})", ratios[1], ratios[allThreads], architecture == Architecture.Cnn ? ">= 2x" : ""));
        summary.Add(($"{architecture} int8 / 4-bit accuracy, points below float", "", $"{100 * (accuracy["float32"] - accuracy["int8"]):F2} / {100 * (accuracy["float32"] - accuracy["4-bit"]):F2}", "int8 <= 0.2"));
        summary.Add(($"{architecture} model file, times smaller (int8 / 4-bit)", "", $"{(double)sizes["float32"] / sizes["int8"]:F2} / {(double)sizes["float32"] / sizes["4-bit"]:F2}", "int8 4x"));
    }
    Directory.Delete(folder, recursive: true);
    Parallelism.MaxThreads = allThreads;
}

if (Wants("profile"))
{
    Console.WriteLine();
    Console.WriteLine($"## Where a CNN training step goes ({allThreads} threads, batch 64, ms per batch over 100 batches, the faster of two runs; forward includes the glue before each op)");
    Console.WriteLine("The same steps with the 3x3 layers as Winograd F(4x4, 3x3) (the default) and as im2col products (Convolution.UseWinograd off).");
    Console.WriteLine("| # | op | forward ms | backward ms | im2col forward ms | im2col backward ms |");
    Console.WriteLine("|---|---|---|---|---|---|");
    // Both warmed up first (the glue is recompiled during the first hundred steps of a process), then
    // measured twice in turn, A B A B, each keeping its faster run: the VM's slow phases last seconds.
    var hundred = train.Select(Enumerable.Range(0, 64 * 100).ToArray());
    var trainers = new[] { true, false }.Select(winograd =>
    {
        Convolution.UseWinograd = winograd;
        var trainer = new Trainer(Model.Create(Architecture.Cnn, train.ClassNames, seed: 1), new TrainingOptions { Optimizer = OptimizerKind.Adam });
        trainer.TrainEpoch(hundred);
        return trainer;
    }).ToArray();
    var profiles = new (OpProfile Profile, double Step)[2];
    for (int round = 0; round < 2; round++)
        for (int variant = 0; variant < 2; variant++)
        {
            Convolution.UseWinograd = variant == 0;
            var profile = new OpProfile();
            trainers[variant].Profile = profile;
            double step = trainers[variant].TrainEpoch(hundred).Duration.TotalMilliseconds / profile.Steps;
            if (round == 0 || step < profiles[variant].Step) profiles[variant] = (profile, step);
        }
    Convolution.UseWinograd = true;
    double Ms(TimeSpan time, OpProfile profile) => time.TotalMilliseconds / profile.Steps;
    var (winogradProfile, im2colProfile) = (profiles[0].Profile, profiles[1].Profile);
    for (int i = 0; i < winogradProfile.Rows.Count; i++)
        Console.WriteLine($"| {i} | {winogradProfile.Rows[i].Op} | {Ms(winogradProfile.Rows[i].Forward, winogradProfile):F2} | {Ms(winogradProfile.Rows[i].Backward, winogradProfile):F2} "
            + $"| {Ms(im2colProfile.Rows[i].Forward, im2colProfile):F2} | {Ms(im2colProfile.Rows[i].Backward, im2colProfile):F2} |");
    var totals = profiles.Select(p => (Forward: p.Profile.Rows.Sum(r => Ms(r.Forward, p.Profile)), Backward: p.Profile.Rows.Sum(r => Ms(r.Backward, p.Profile)), p.Step)).ToArray();
    Console.WriteLine($"| | all ops | {totals[0].Forward:F2} | {totals[0].Backward:F2} | {totals[1].Forward:F2} | {totals[1].Backward:F2} |");
    Console.WriteLine($"| | rest of the step (batching, zeroing gradients, Adam) | {totals[0].Step - totals[0].Forward - totals[0].Backward:F2} | | {totals[1].Step - totals[1].Forward - totals[1].Backward:F2} | |");
    Console.WriteLine($"| | whole step | {totals[0].Step:F2} | | {totals[1].Step:F2} | |");
    summary.Add(("CNN training step ms, Winograd / im2col", "", $"{totals[0].Step:F2} / {totals[1].Step:F2}", ""));
}

if (Wants("growth"))
{
    Console.WriteLine();
    Console.WriteLine($"## How cost grows ({allThreads} threads, one pass over the images named)");
    Console.WriteLine("| model | batch | images | train img/s |");
    Console.WriteLine("|---|---|---|---|");
    foreach (var (architecture, images) in new[] { (Architecture.Mlp, 30_000), (Architecture.Cnn, 6_400) })
        foreach (int batch in new[] { 16, 64, 256 })
            Console.WriteLine($"| {architecture} | {batch} | {images:N0} | {TrainingSpeed(architecture, 128, batch, images):N0} |");
    foreach (int width in new[] { 128, 512, 2048 })
        Console.WriteLine($"| Mlp 784-{width}-64-10 | 64 | 30,000 | {TrainingSpeed(Architecture.Mlp, width, 64, 30_000):N0} |");
}

if (Wants("files"))
{
    Console.WriteLine();
    Console.WriteLine("## End-to-end classification of image files (decode and find ink on all cores, 28x28, CNN in batches of 64, as Invoke-HelloClassify)");
    var classifier = Model.Create(Architecture.Cnn, train.ClassNames, seed: 1);
    string files = Path.Combine(Path.GetTempPath(), $"hellodl-bench-files-{Environment.ProcessId}");
    Directory.CreateDirectory(files);
    try
    {
        var pngs = Enumerable.Range(0, 1000).Select(i => { string f = Path.Combine(files, $"digit-{i}.png"); Pictures.SaveImage(test.GetSample(i).Image, f); return f; }).ToList();
        var scanRandom = new Random(3);
        var jpegs = Enumerable.Range(0, 200).Select(i =>
        {
            string f = Path.Combine(files, $"scan-{i}.jpg");
            ScanSimulator.WriteSingleCharacter(test.GetSample(i).Image, scanRandom, f, pageSize: (600, 400));
            return f;
        }).ToList();
        // Scan-like pages of one digit each, 120-600 px a side, PNG and JPEG in turn (the issue's main-job set).
        var scans = Enumerable.Range(0, 1000).Select(i =>
        {
            string f = Path.Combine(files, $"page-{i}.{(i % 2 == 0 ? "png" : "jpg")}");
            ScanSimulator.WriteSingleCharacter(test.GetSample(i).Image, scanRandom, f, pageSize: (scanRandom.Next(120, 601), scanRandom.Next(120, 601)));
            return f;
        }).ToList();
        FilesPerSecond(classifier, pngs.Take(100).Concat(scans.Take(100)).ToList());   // warm-up: decoders and JIT
        double pngRate = FilesPerSecond(classifier, pngs), jpegRate = FilesPerSecond(classifier, jpegs);
        // What the pages cost the garbage collector: a page's arrays are over the large object heap's threshold.
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        int fullCollectionsBefore = GC.CollectionCount(2);
        double firstPassRate = FilesPerSecond(classifier, scans);
        double pageKilobytes = (GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore) / 1024.0 / scans.Count;
        int fullCollections = GC.CollectionCount(2) - fullCollectionsBefore;
        // Best of two passes, as the decoding bound below: ImageSharp's decoders are not precompiled
        // and reach their optimised code only during the first thousand pages.
        double scanRate = Math.Max(firstPassRate, FilesPerSecond(classifier, scans));
        // The bound the issue sets: ImageSharp decoding the same files alone, on one thread.
        double decodeRate = 0;
        for (int round = 0; round < 2; round++)
        {
            var decodeClock = Stopwatch.StartNew();
            foreach (var f in scans) { using var decoded = SixLabors.ImageSharp.Image.Load<SixLabors.ImageSharp.PixelFormats.Rgba32>(f); }
            decodeRate = Math.Max(decodeRate, scans.Count / decodeClock.Elapsed.TotalSeconds);
        }
        var preprocessClock = Stopwatch.StartNew();
        foreach (var f in scans) MnistPreprocessor.ToMnist(ImageReader.Read(f));
        double readRate = scans.Count / preprocessClock.Elapsed.TotalSeconds;
        // What refusing damaged files costs: the structure walk before decoding, and a model file's checksum at import.
        var pageBytes = scans.Select(File.ReadAllBytes).ToList();
        double WalkMs(string format, byte first)
        {
            var pages = pageBytes.Where(b => b[0] == first).ToList();
            var clock = Stopwatch.StartNew();
            foreach (var bytes in pages) ImageIntegrity.Problem(bytes, format);
            return clock.Elapsed.TotalMilliseconds / pages.Count;
        }
        double pngWalkMs = WalkMs("PNG", 0x89), jpegWalkMs = WalkMs("JPEG", 0xFF), integrityMs = (pngWalkMs + jpegWalkMs) / 2;
        string modelPath = Path.Combine(files, "cnn.safetensors");
        HelloDl.Serialization.ModelFile.Save(classifier, modelPath);
        HelloDl.Serialization.ModelFile.Load(modelPath);
        var content = HelloDl.Serialization.SafeTensors.Read(modelPath);
        HelloDl.Serialization.ModelFile.Checksum(content.Tensors, content.Metadata);
        var loadClock = Stopwatch.StartNew();
        for (int i = 0; i < 20; i++) HelloDl.Serialization.ModelFile.Load(modelPath);
        double modelLoadMs = loadClock.Elapsed.TotalMilliseconds / 20;
        var sumClock = Stopwatch.StartNew();
        for (int i = 0; i < 20; i++) HelloDl.Serialization.ModelFile.Checksum(content.Tensors, content.Metadata);
        double sumMs = sumClock.Elapsed.TotalMilliseconds / 20;
        Console.WriteLine($"- 1,000 PNG digits (28x28): {pngRate:N0} files/s");
        Console.WriteLine($"- 200 JPEG scans (600x400): {jpegRate:N0} files/s");
        Console.WriteLine($"- 1,000 scan-like pages (120-600 px, half PNG, half JPEG): {scanRate:N0} files/s end to end on {allThreads} threads (best of two passes; the first {firstPassRate:N0}); " +
            $"ImageSharp decoding alone on one thread {decodeRate:N0} files/s; reading and finding ink on one thread {readRate:N0} files/s; " +
            $"{pageKilobytes:N0} KB allocated a page, {fullCollections} full collections in all");
        Console.WriteLine($"- Integrity checks: walking a page's structure before decoding {integrityMs:F3} ms (PNG {pngWalkMs:F3}, JPEG {jpegWalkMs:F3}; {integrityMs * readRate / 10:F1}% of reading and finding its ink on one thread, " +
            "though for the common PNGs the inflation it includes is also their decoding's); " +
            $"importing the CNN's model file ({new FileInfo(modelPath).Length:N0} bytes) {modelLoadMs:F2} ms, of which its SHA-256 checksum {sumMs:F2} ms");
        summary.Add(("Invoke-HelloClassify files/s, 1,000 PNG digits 28x28", "", $"{pngRate:N0}", ""));
        summary.Add(("Invoke-HelloClassify files/s, 200 JPEG scans 600x400", "", $"{jpegRate:N0}", ""));
        summary.Add(("Invoke-HelloClassify files/s, 1,000 scan-like pages 120-600 px", $"decode only: {decodeRate:N0}", $"{scanRate:N0}", $">= {decodeRate:N0} (1-thread decode)"));

        // Import-HelloImageSet's work: list class folders, read every file as classification does, build the set.
        string folder = Path.Combine(files, "own");
        for (int i = 0; i < 10_000; i++)
        {
            var sample = test.GetSample(i);
            string classFolder = Path.Combine(folder, sample.ClassName);
            Directory.CreateDirectory(classFolder);
            Pictures.SaveImage(sample.Image, Path.Combine(classFolder, $"{i}.png"));
        }
        var importClock = Stopwatch.StartNew();
        var listed = ClassFolders.List(folder);
        var builder = new ImageSetBuilder("own", folder);
        foreach (var chunk in listed.Chunk(256)) builder.Add(chunk);
        var imported = builder.Build();
        double importSeconds = importClock.Elapsed.TotalSeconds;
        Console.WriteLine($"- Import-HelloImageSet of 10,000 PNG digits (28x28) in class folders: {importSeconds:F2} s ({imported.Count / importSeconds:N0} images/s, {builder.BlankCount} blank)");
        summary.Add(("Import-HelloImageSet, 10,000 PNG digits 28x28, s", "", $"{importSeconds:F2}", "< 5"));
    }
    finally { Directory.Delete(files, recursive: true); }
}

if (Wants("memory"))
{
    Console.WriteLine();
    Console.WriteLine("## Memory with an EMNIST ByClass-sized training set (700,000 images; MNIST's repeated, 10 classes)");
    var big = train.Select(Enumerable.Range(0, 700_000).Select(i => i % train.Count).ToArray(), "700k");
    long dataBytes = (long)big.Count * big.Rows * big.Columns + big.Count;
    var model = Model.Create(Architecture.Cnn, big.ClassNames, seed: 1);
    var trainer = new Trainer(model, new TrainingOptions { Optimizer = OptimizerKind.Adam });
    using var stop = new CancellationTokenSource();
    using var process = Process.GetCurrentProcess();
    long peakWorkingSet = 0;
    // Sampled while training (the process's lifetime peak may come from an earlier section).
    trainer.TrainEpoch(big, progress: p =>
    {
        if (p.Batch % 20 != 0) return;
        process.Refresh();
        peakWorkingSet = Math.Max(peakWorkingSet, process.WorkingSet64);
        if (p.Batch == 300) stop.Cancel();
    }, cancellation: stop.Token);
    long beyond = peakWorkingSet - dataBytes;
    Console.WriteLine($"- data set as bytes: {dataBytes / 1e6:N0} MB; largest working set of the whole process during 300 CNN training batches: {peakWorkingSet / 1e6:N0} MB");
    Console.WriteLine($"- everything beyond the data set (runtime, MNIST, model, batch buffers, and whatever earlier sections left): {beyond / 1e6:N0} MB");
    summary.Add(("Training on 700,000 images: process memory beyond the data set (MB)", "", $"{beyond / 1e6:N0} (data set {dataBytes / 1e6:N0})", "<= ~1,000"));
}

if (Wants("text"))
{
    // The corpus `build.ps1 Data` puts beside MNIST: earlier mail to train on, later mail to classify.
    string spamFolder = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(mnistFolder))!, "spam-assassin");
    (TextDataset Set, List<string> Files) Mail(string name, params (string Group, string Label)[] groups)
    {
        var builder = new TextSetBuilder(name, spamFolder);
        var files = new List<string>();
        foreach (var (group, label) in groups)
            foreach (var file in Directory.EnumerateFiles(Path.Combine(spamFolder, group)).Order(StringComparer.Ordinal))
            {
                builder.Add(new LabelledDocument(TextFiles.Read(file), label, file));
                files.Add(file);
            }
        return (builder.Build(), files);
    }
    var (earlier, _) = Mail("spam-assassin-earlier", ("easy-ham-1", "ham"), ("hard-ham-1", "ham"), ("spam-1", "spam"));
    var (later, laterFiles) = Mail("spam-assassin-later", ("easy-ham-2", "ham"), ("spam-2", "spam"));
    Console.WriteLine();
    Console.WriteLine($"## Text: SpamAssassin, trained on {earlier.Count:N0} earlier messages, classifying {later.Count:N0} later ones");
    Console.WriteLine("Training: the defaults (Start-HelloTraining's 3 epochs, a tenth held out to calibrate on). Classifying: each file read and");
    Console.WriteLine("classified in batches of 64, as Invoke-HelloClassify does; best of 2 passes.");
    Console.WriteLine("| model | threads | train messages/s | classify messages/s | accuracy on later mail | ham marked spam |");
    Console.WriteLine("|---|---|---|---|---|---|");
    foreach (var architecture in new[] { Architecture.TextNgram, Architecture.Gru })
    {
        var trainCells = new Dictionary<int, string>();
        var classifyCells = new Dictionary<int, string>();
        foreach (int t in threadCounts)
        {
            Parallelism.MaxThreads = t;
            var model = Model.Create(architecture, earlier.ClassNames, seed: 1);
            var trained = new Trainer(model, new TrainingOptions { Epochs = 3, BatchSize = TrainingDefaults.BatchSizeFor(earlier.Count) }).Run(earlier).ToList();
            double trainRate = trained.Sum(e => e.Images) / trained.Sum(e => e.Duration.TotalSeconds);
            double classifyRate = 0;
            ClassificationResult[] results = [];
            for (int round = 0; round < 2; round++)
            {
                var wall = Stopwatch.StartNew();
                var all = new List<ClassificationResult>(laterFiles.Count);
                for (int first = 0; first < laterFiles.Count; first += 64)
                {
                    var batch = laterFiles.Skip(first).Take(64).Select(f => new ClassifierInput(null, Path: f, Text: TextFiles.Read(f))).ToList();
                    all.AddRange(Classifier.Classify(model, batch));
                }
                classifyRate = Math.Max(classifyRate, laterFiles.Count / wall.Elapsed.TotalSeconds);
                results = [.. all];
            }
            int correct = 0, hamAsSpam = 0, ham = 0;
            for (int i = 0; i < later.Count; i++)
            {
                string actual = later.ClassNames[later.GetLabel(i)];
                if (results[i].Label == actual) correct++;
                if (actual == "ham") { ham++; if (results[i].Label == "spam") hamAsSpam++; }
            }
            Console.WriteLine($"| {architecture} | {t} | {trainRate:N0} | {classifyRate:N0} | {(double)correct / later.Count:P2} | {(double)hamAsSpam / ham:P2} |");
            trainCells[t] = $"{trainRate:N0}";
            classifyCells[t] = $"{classifyRate:N0}";
        }
        summary.Add(($"{architecture} train messages/s (SpamAssassin)", trainCells[1], trainCells[allThreads], ""));
        summary.Add(($"{architecture} classify messages/s (read and classify)", classifyCells[1], classifyCells[allThreads], architecture == Architecture.TextNgram ? ">= 2,000" : ""));
    }
    Parallelism.MaxThreads = allThreads;
}

if (Wants("log"))
{
    Console.WriteLine();
    Console.WriteLine("## Cost of the SQLite training log (MLP, one epoch of 60,000 images, batch 64, runs alternated)");
    string logPath = Path.Combine(Path.GetTempPath(), $"hellodl-bench-{Environment.ProcessId}.sqlite");
    var withoutLog = new List<double>();
    var withLog = new List<double>();
    var logged = Model.Create(Architecture.Mlp, train.ClassNames, seed: 1);
    var loggedTrainer = new Trainer(logged, new TrainingOptions { Optimizer = OptimizerKind.Sgd, LearningRate = 0.01f, Epochs = 100 });
    using (var log = new TrainingLog(logPath, new RunDescription("Mlp", train.ClassNames, train.Name, null, 100, 64, "Sgd", 0.01, 1, logged.ParameterCount)))
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
}

Console.WriteLine();
Console.WriteLine("## Summary");
Console.WriteLine($"| measure | 1 thread | {allThreads} threads | target |");
Console.WriteLine("|---|---|---|---|");
foreach (var row in summary) Console.WriteLine($"| {row.Measure} | {row.OneThread} | {row.AllThreads} | {row.Target} |");
return 0;

double TrainingSpeed(Architecture architecture, int hidden, int batch, int images)
{
    var model = Model.Create(architecture, train.ClassNames, seed: 1, hiddenSize: hidden);
    var trainer = new Trainer(model, new TrainingOptions { BatchSize = batch, Optimizer = architecture == Architecture.Mlp ? OptimizerKind.Sgd : OptimizerKind.Adam, LearningRate = architecture == Architecture.Mlp ? 0.01f : null });
    trainer.TrainEpoch(train.Select(Enumerable.Range(0, batch * 10).ToArray()));   // warm-up
    return trainer.TrainEpoch(train.Select(Enumerable.Range(0, images).ToArray())).ImagesPerSecond;
}

static double FilesPerSecond(Model model, IReadOnlyList<string> paths)
{
    var clock = Stopwatch.StartNew();
    int results = 0;
    foreach (var batch in paths.Chunk(64))
        results += Classifier.Classify(model, CharacterFiles.Read(batch).Select(f => new ClassifierInput(f.Image, f.Path)).ToList()).Length;
    return results / clock.Elapsed.TotalSeconds;
}

// A product's GFLOP/s in the best of its rounds, and its share of the machine's peak measured back
// to back: each round follows a short FMA-only loop on as many threads, and the share is the median
// of the rounds' ratios (with their range). A phase of the VM that slows the clock slows both alike;
// against a peak timed apart, a best round once put the first layer's product at 58% in one run of
// this section and 78% in the next. (A phase that slows only the caches still shows: see the README.)
static (double Gflops, double MedianShare, double LowestShare, double HighestShare) GemmRate(int m, int n, int k, bool transB, int threads)
{
    var a = new float[m * k]; var b = new float[k * n]; var c = new float[m * n];
    var random = new Random(1);
    for (int i = 0; i < a.Length; i++) a[i] = random.NextSingle();
    for (int i = 0; i < b.Length; i++) b[i] = random.NextSingle();
    double gflopsPerRun = 2.0 * m * n * k / 1e9;
    var peaks = new List<double>();
    var rates = RoundRates(() => Gemm.Multiply(a, false, b, transB, c, m, n, k), () => peaks.Add(MachinePeak.MeasureOnce(threads, iterations: 4_000_000)));
    var shares = rates.Zip(peaks, (rate, peak) => rate * gflopsPerRun / peak).Order().ToList();
    return (rates.Max() * gflopsPerRun, (shares[4] + shares[5]) / 2, shares[0], shares[^1]);
}

// Runs per second: the best of 10 rounds (the machine's noise only ever makes a round slower).
static double BestRate(Action run) => RoundRates(run).Max();

// Runs per second in each of 10 rounds of ~40 ms, after 20 runs to warm up; beforeEach runs
// untimed before each round.
static List<double> RoundRates(Action run, Action? beforeEach = null)
{
    for (int w = 0; w < 20; w++) run();
    var rates = new List<double>();
    for (int round = 0; round < 10; round++)
    {
        beforeEach?.Invoke();
        int reps = 0;
        var clock = Stopwatch.StartNew();
        while (clock.ElapsedMilliseconds < 40) { run(); reps++; }
        rates.Add(reps / clock.Elapsed.TotalSeconds);
    }
    return rates;
}
