using HelloDl.Data;

namespace HelloDl.Nn;

/// <summary>The networks of hello-dl's chapters, layer for layer, with the parameter names model files use.</summary>
public static class Architectures
{
    public static (Module Network, InputNormalization Normalization) Build(Architecture architecture, int classes, int hiddenSize = 128) =>
        architecture switch
        {
            Architecture.Linear => (LinearClassifier(classes), InputNormalization.Mnist),
            Architecture.Mlp => (Mlp(classes, hiddenSize), InputNormalization.Mnist),
            Architecture.Cnn => (Cnn(classes), InputNormalization.Mnist),
            _ => throw new ArgumentOutOfRangeException(nameof(architecture)),
        };

    /// <summary>One weight per pixel per class; with two classes a single score whose sign decides.</summary>
    public static Sequential LinearClassifier(int classes) => classes == 2
        ? new(("flatten", new FlattenLayer()), ("fc", new LinearLayer(784, 1)), ("logits", new SignToLogitsLayer()), ("logsoftmax", new LogSoftmaxLayer()))
        : new(("flatten", new FlattenLayer()), ("fc", new LinearLayer(784, classes)), ("logsoftmax", new LogSoftmaxLayer()));

    /// <summary>784-128-64-N, ReLU, log-softmax: 109,184 weights and 202 biases for ten classes.</summary>
    public static Sequential Mlp(int classes, int hiddenSize = 128) => new(
        ("flatten", new FlattenLayer()),
        ("fc1", new LinearLayer(784, hiddenSize)), ("relu1", ActivationLayer.Relu()),
        ("fc2", new LinearLayer(hiddenSize, 64)), ("relu2", ActivationLayer.Relu()),
        ("fc3", new LinearLayer(64, classes)),
        ("logsoftmax", new LogSoftmaxLayer()));

    /// <summary>
    /// hello-dl's letters CNN: 28 →conv 26 →pool 13 →conv 11 →pool(ceil) 6 →conv 4 →pool 2, then
    /// 512 → 64 (dropout 0.5) → 128 → N, GELU after each pool and the first two fc layers.
    /// 136,736 weights and 442 biases for 26 classes.
    /// </summary>
    public static Sequential Cnn(int classes) => new(
        ("c1", new Conv2dLayer(1, 32, 3)), ("pool1", new MaxPool2dLayer(2)), ("gelu1", ActivationLayer.Gelu()),
        ("c2", new Conv2dLayer(32, 64, 3)), ("pool2", new MaxPool2dLayer(2, ceilMode: true)), ("gelu2", ActivationLayer.Gelu()),
        ("c3", new Conv2dLayer(64, 128, 3)), ("pool3", new MaxPool2dLayer(2)), ("gelu3", ActivationLayer.Gelu()),
        ("flatten", new FlattenLayer()),
        ("fc1", new LinearLayer(512, 64)), ("dropout", new DropoutLayer(0.5f)), ("gelu4", ActivationLayer.Gelu()),
        ("fc2", new LinearLayer(64, 128)), ("gelu5", ActivationLayer.Gelu()),
        ("fc3", new LinearLayer(128, classes)),
        ("logsoftmax", new LogSoftmaxLayer()));
}
