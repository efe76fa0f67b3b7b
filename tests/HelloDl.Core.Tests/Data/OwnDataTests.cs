using HelloDl.Data;
using HelloDl.Imaging;
using HelloDl.Nn;
using HelloDl.Optim;
using HelloDl.Training;

namespace HelloDl.Tests.Data;

public sealed class OwnDataTests : IDisposable
{
    readonly TempFolder _temp = new();
    public void Dispose() => _temp.Dispose();

    static ImageDataset Small => MnistData.Test.Select(Enumerable.Range(0, 500).ToArray(), "small");

    [Fact]
    public void Partition_splits_every_class_in_proportion_without_overlap_and_reproducibly()
    {
        var (training, validation) = Small.Partition(0.2, seed: 3);
        var images = (ImageDataset)validation;
        Assert.Equal(500, training.Count + validation.Count);
        foreach (var name in Small.ClassNames)
            Assert.Equal((int)Math.Round(Small.ClassCounts[name] * 0.2), validation.ClassCounts[name]);
        var again = (ImageDataset)Small.Partition(0.2, seed: 3).Validation;
        Assert.Equal(images.GetPixels(7).ToArray(), again.GetPixels(7).ToArray());
        var other = (ImageDataset)Small.Partition(0.2, seed: 4).Validation;
        Assert.NotEqual(Enumerable.Range(0, validation.Count).Select(i => images.GetPixels(i).ToArray()[300]),
            Enumerable.Range(0, validation.Count).Select(i => other.GetPixels(i).ToArray()[300]));
    }

    [Fact]
    public void Join_merges_classes_by_name_in_first_seen_order()
    {
        var threes = Small.WithClasses("3", "7");
        var reversed = Small.WithClasses("7", "1");
        var joined = ImageDataset.Join([threes, reversed]);
        Assert.Equal(["3", "7", "1"], joined.ClassNames);
        Assert.Equal(threes.Count + reversed.Count, joined.Count);
        Assert.Equal(threes.ClassCounts["7"] + reversed.ClassCounts["7"], joined.ClassCounts["7"]);
        Assert.Equal(reversed.GetSample(0).ClassName, joined.GetSample(threes.Count).ClassName);
        Assert.Throws<ArgumentException>(() => ImageDataset.Join([]));
    }

    [Fact]
    public void Class_folder_names_escape_what_file_systems_refuse_and_come_back()
    {
        foreach (var label in new[] { "a", "A", "10", "a/b", "50%", "..", "x:y" })
        {
            string folder = ClassFolders.FolderName(label);
            Assert.DoesNotContain('/', folder);
            Assert.NotEqual("..", folder);
            Assert.Equal(label, ClassFolders.LabelOf(folder));
        }
        Assert.Equal(["2", "9", "10"], ClassFolders.Order(["10", "9", "2", "9"]));
        Assert.Equal(["O", "X", "o"], ClassFolders.Order(["o", "X", "O"]));
    }

    [Fact]
    public void A_manifest_reads_quoted_fields_and_reports_each_bad_line()
    {
        string csv = _temp.File("labels.csv");
        File.WriteAllLines(csv, ["label,file,note", "7,\"a, b.png\",x", "\"say \"\"x\"\"\",c.png,", "9,,", "\"open", "3,nul\0.png"]);
        var (files, problems) = ImageManifest.Read(csv);
        Assert.Equal([("7", Path.Combine(_temp.Path, "a, b.png")), ("say \"x\"", Path.Combine(_temp.Path, "c.png"))], files.Select(f => (f.Label, f.Path)));
        Assert.Equal(3, problems.Count);
        Assert.Contains("NUL", problems[2].Message);
        Assert.All(problems, p => Assert.Equal(ImageSetErrorIds.ManifestBadLine, p.ErrorId));
        File.WriteAllLines(csv, ["path,class"]);
        Assert.Equal(ImageSetErrorIds.ManifestBadHeader, Assert.Throws<ImageSetException>(() => ImageManifest.Read(csv)).ErrorId);
    }

    [Fact]
    public void A_builder_reads_files_as_classification_does_and_counts_blank_and_bad_ones()
    {
        var files = new List<LabelledFile>();
        for (int i = 0; i < 6; i++)
        {
            string path = _temp.File($"{i}.png");
            Pictures.SaveImage(MnistData.Test.GetSample(i).Image, path);
            files.Add(new LabelledFile(path, MnistData.Test.GetSample(i).ClassName));
        }
        File.WriteAllText(_temp.File("bad.png"), "no");
        Pictures.SaveImage(new GrayImage(28, 28, new byte[784]), _temp.File("blank.png"));
        files.Add(new LabelledFile(_temp.File("bad.png"), "1"));
        files.Add(new LabelledFile(_temp.File("blank.png"), "1"));
        var builder = new ImageSetBuilder("mine", _temp.Path);
        var outcomes = builder.Add(files);
        Assert.Equal([ImportStatus.Failed, ImportStatus.Blank], outcomes.Skip(6).Select(o => o.Status));
        var set = builder.Build();
        Assert.Equal(6, set.Count);
        Assert.Equal((1, 1), (builder.FailedCount, builder.BlankCount));
        for (int i = 0; i < 6; i++)
            Assert.Equal(MnistPreprocessor.ToMnist(ImageReader.Read(files[i].Path))!.Pixels, set.GetSample(i).Image.Pixels);
        var fixedClasses = new ImageSetBuilder("mine", _temp.Path, ["3", "4"]).Add(files.Take(1).ToList());
        Assert.Equal(ImageSetErrorIds.UnknownLabel, Assert.IsType<ImageSetException>(fixedClasses[0].Error).ErrorId);
        Assert.Equal(ImageSetErrorIds.NoImages, Assert.Throws<ImageSetException>(() => new ImageSetBuilder("none", _temp.Path).Build()).ErrorId);
    }

    [Fact]
    public void Fine_tuning_copies_the_layers_and_keeps_the_output_layer_only_for_the_same_classes()
    {
        var trained = Model.Create(Architecture.Mlp, Small.ClassNames, seed: 1);
        trained.TrainedEpochs = 2;
        var same = Model.FineTuneFrom(trained, trained.ClassNames);
        Assert.Equal(trained.Values, same.Values);
        var other = Model.FineTuneFrom(trained, ["X", "O"], seed: 5);
        var layout = other.ParameterLayout.ToDictionary(p => p.Name);
        var fc1 = layout["fc1.weight"];
        Assert.Equal(trained.Values.AsSpan(fc1.Offset, fc1.Length).ToArray(), other.Values.AsSpan(fc1.Offset, fc1.Length).ToArray());
        Assert.Equal(64 * 2, layout["fc3.weight"].Length);
        Assert.Equal("fc3", other.OutputLayer);
        // A trained model starts from a quarter of the architecture's rate.
        Assert.Equal(TrainingDefaults.LearningRateFor(Architecture.Mlp, TrainingDefaults.Optimizer) / 4, new Trainer(other, new TrainingOptions()).BaseLearningRate);
    }

    [Fact]
    public void A_resumed_run_keeps_the_rate_it_started_from()
    {
        string path = _temp.File("run.ckpt");
        var model = Model.Create(Architecture.Mlp, Small.ClassNames);
        var scratch = new Trainer(model, new TrainingOptions { Epochs = 2 });
        scratch.TrainEpoch(Small);
        scratch.SaveCheckpoint(path);
        // The model object has trained an epoch since; resuming must not take it for a fine-tune.
        Assert.Equal(scratch.BaseLearningRate, Trainer.ResumeFrom(path, model, new TrainingOptions { Epochs = 2 }).BaseLearningRate);

        var sevens = Small.WithClasses("3", "7");
        var fine = Model.FineTuneFrom(model, sevens.ClassNames);
        var tune = new Trainer(fine, new TrainingOptions { Epochs = 2 });
        Assert.Equal(scratch.BaseLearningRate / 4, tune.BaseLearningRate);
        tune.TrainEpoch(sevens);
        tune.SaveCheckpoint(path);
        Assert.Equal(tune.BaseLearningRate, Trainer.ResumeFrom(path, Model.FineTuneFrom(model, sevens.ClassNames), new TrainingOptions { Epochs = 2 }).BaseLearningRate);
    }

    [Fact]
    public void Frozen_layers_stay_bit_identical_and_the_others_train()
    {
        var model = Model.Create(Architecture.Mlp, Small.ClassNames, seed: 1);
        var before = (float[])model.Values.Clone();
        var trainer = new Trainer(model, new TrainingOptions { Freeze = ["fc1", "fc3"], WeightDecay = 0.01f, Optimizer = OptimizerKind.AdamW });
        _ = trainer.Run(Small).ToList();
        foreach (var (name, offset, length) in model.ParameterLayout)
        {
            bool same = before.AsSpan(offset, length).SequenceEqual(model.Values.AsSpan(offset, length));
            Assert.True(same == !name.StartsWith("fc2", StringComparison.Ordinal), $"{name} {(same ? "did not change" : "changed")}");
        }
        Assert.Throws<ArgumentException>(() => new Trainer(model, new TrainingOptions { Freeze = ["relu1"] }));
    }

    [Fact]
    public void A_small_set_without_validation_holds_a_tenth_out_and_calibration_never_sharpens_on_a_few_mistakes()
    {
        var model = Model.Create(Architecture.Mlp, Small.ClassNames, seed: 1);
        var epochs = new Trainer(model, new TrainingOptions { Epochs = 2 }).Run(Small).ToList();
        Assert.InRange(epochs[^1].Validation!.Count, 45, 55);
        Assert.Equal(500, epochs[0].Images + epochs[^1].Validation!.Count);
        // What the log is told the run trains and validates on is what it does.
        var (training, heldOut) = new Trainer(model, new TrainingOptions()).SetsFor(Small, null);
        Assert.Equal((epochs[0].Images, epochs[^1].Validation!.Count), (training.Count, heldOut!.Count));
        var small = Small;
        Assert.Same(small, new Trainer(model, new TrainingOptions()).SetsFor(small, MnistData.Test).Training);
        var perfect = MnistData.Test.Select([0, 1], "two");
        Assert.True(Calibration.FitTemperature(model, perfect) >= 1);
    }
}
