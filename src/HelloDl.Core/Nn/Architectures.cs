using HelloDl.Data;
using HelloDl.Text;

namespace HelloDl.Nn;

/// <summary>The networks of hello-dl's chapters, layer for layer, with the parameter names model files use.</summary>
public static class Architectures
{
    /// <param name="hiddenSize">The Mlp's first, the TextNgram's and each Gru layer's hidden width; null for <see cref="DefaultHiddenSize"/>.</param>
    /// <param name="textFeatures">How a TextNgram model hashes documents; null for the defaults.</param>
    /// <param name="sequences">How many bytes a Gru model reads; null for the defaults.</param>
    /// <param name="objective">NextCharacter: a Gru that predicts from every step, not only the last.</param>
    public static (Module Network, IInputEncoder Input) Build(Architecture architecture, int classes, int? hiddenSize = null, HashedNgrams? textFeatures = null,
        ByteSequences? sequences = null, Objective objective = Objective.Classify)
    {
        int hidden = hiddenSize ?? DefaultHiddenSize(architecture);
        return architecture switch
        {
            Architecture.Linear => (LinearClassifier(classes), new ImageInput(InputNormalization.Mnist)),
            Architecture.Mlp => (Mlp(classes, hidden), new ImageInput(InputNormalization.Mnist)),
            Architecture.Cnn => (Cnn(classes), new ImageInput(InputNormalization.Mnist)),
            Architecture.TextNgram => (TextNgram(classes, textFeatures ??= new HashedNgrams(), hidden), new HashedTextInput(textFeatures)),
            Architecture.Gru when objective == Objective.NextCharacter => (Gru(classes, hidden, everyStep: true), new NextByteInput(sequences ?? new ByteSequences())),
            Architecture.Gru => (Gru(classes, hidden), new ByteSequenceInput(sequences ?? new ByteSequences())),
            _ => throw new ArgumentOutOfRangeException(nameof(architecture)),
        };
    }

    /// <summary>The hidden width of architectures that have one (hello-dl's MLP: 128; TextNgram: 32; Gru: 128), 0 for the others.</summary>
    public static int DefaultHiddenSize(Architecture architecture) => architecture switch
    {
        Architecture.Mlp => 128,
        Architecture.TextNgram => 32,
        Architecture.Gru => 128,
        _ => 0,
    };

    /// <summary>Whether <see cref="Build"/> reads a hidden width for the architecture.</summary>
    public static bool HasHiddenSize(Architecture architecture) => DefaultHiddenSize(architecture) > 0;

    /// <summary>The Gru's stacked layers (hello-dl: 3) and the width of its byte embedding.</summary>
    public const int GruLayers = 3, GruEmbedding = 64;

    /// <summary>
    /// hello-dl's tensor-gru over bytes: an embedding of the 256 byte values, three stacked GRU
    /// layers, then a linear layer to the classes (or, for a language model, to the 256 next bytes
    /// at every step).
    /// </summary>
    public static Sequential Gru(int classes, int hiddenSize = 128, bool everyStep = false) => new(
        ("gru", new GruEncoder(256, GruEmbedding, hiddenSize, GruLayers, everyStep)),
        ("fc", new LinearLayer(hiddenSize, classes)),
        ("logsoftmax", new LogSoftmaxLayer()));

    /// <summary>
    /// The fraction of a document's features dropped in training. Spam changes with time: a model
    /// that must classify from a random seventh of each message cannot rely on the words of its
    /// training period's spam alone (on the SpamAssassin corpus's later mail this decides whether
    /// the model beats the linear baselines).
    /// </summary>
    public const float TextFeatureDropout = 0.85f;

    /// <summary>
    /// fastText's shape: hashed words, word pairs and character n-grams (a bag, with dropout of
    /// whole features in training) into one hidden ReLU layer, then the classes.
    /// </summary>
    public static Sequential TextNgram(int classes, HashedNgrams features, int hiddenSize = 32) => new(
        ("feature_dropout", new FeatureDropoutLayer(TextFeatureDropout)),
        ("embedding", new EmbeddingBagLayer(features.Buckets, hiddenSize)), ("relu", ActivationLayer.Relu()),
        ("fc", new LinearLayer(hiddenSize, classes)),
        ("logsoftmax", new LogSoftmaxLayer()));

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
