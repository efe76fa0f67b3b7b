using System.Diagnostics;
using HelloDl.Data;
using HelloDl.Kernels;
using HelloDl.Nn;
using HelloDl.Training;

string mnist = args.Length > 0 ? args[0] : "data/mnist";
var train = EmnistLoader.Load(mnist, split: DatasetSplit.Train);
var test = EmnistLoader.Load(mnist, split: DatasetSplit.Test);
foreach (var (arch, opt) in new[] { (Architecture.Mlp, OptimizerKind.Sgd), (Architecture.Cnn, OptimizerKind.Adam) })
{
    var model = Model.Create(arch, train.ClassNames, seed: 1);
    var trainer = new Trainer(model, new TrainingOptions { Optimizer = opt });
    var subset = arch == Architecture.Cnn ? train.Select(Enumerable.Range(0, 6400).ToArray()) : train;
    var r = trainer.TrainEpoch(subset, test);
    Console.WriteLine($"{arch}: {r.ImagesPerSecond:N0} img/s, train acc {r.TrainAccuracy:P2}, test acc {r.ValidationAccuracy:P2}, {r.Duration.TotalSeconds:F1}s");
}
