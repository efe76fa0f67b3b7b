using System.Runtime.CompilerServices;
using HelloDl.Autograd;
using HelloDl.Data;
using HelloDl.Tensors;
using HelloDl.Text;

namespace HelloDl.Nn;

/// <summary>hello-dl's three models.</summary>
public enum Architecture
{
    /// <summary>One linear layer on the pixels; with two classes, one weight per pixel and "sign decides".</summary>
    Linear,
    /// <summary>784-128-64-N with ReLU (hello-dl chapter 4).</summary>
    Mlp,
    /// <summary>Three conv/pool stages and three fully connected layers (hello-dl chapter 5).</summary>
    Cnn,
    /// <summary>Text: hashed words, word pairs and character n-grams into one hidden layer (fastText's shape).</summary>
    TextNgram,
    /// <summary>Text as bytes: an embedding, three stacked GRU layers (hello-dl chapter 9), then a linear layer.</summary>
    Gru,
}

/// <summary>What a model is trained to do.</summary>
public enum Objective
{
    /// <summary>Name the class of an item (an image, a document).</summary>
    Classify,
    /// <summary>A language model (Gru only): predict every next byte of a text, then write text (Get-HelloText).</summary>
    NextCharacter,
}

/// <summary>One row of a model summary.</summary>
public sealed record LayerSummary(string Name, string Layer, string OutputShape, int Parameters);

/// <summary>
/// A network with its class names and input normalisation. All parameters live in one flat buffer
/// (gradients in another), each layer holding views, so optimisers walk one array and a model
/// file is one write. Evaluation never writes to the model, so one instance can classify on many
/// threads at once.
/// </summary>
public sealed class Model
{
    /// <summary>The input of the image models: one 28x28 grey image.</summary>
    public static readonly int[] ImageInputShape = [1, 28, 28];

    readonly List<(string Name, Parameter Parameter)> _parameters;
    [ThreadStatic] static Tape? _inferenceTape;

    Model(Architecture architecture, Module network, IReadOnlyList<string> classNames, IInputEncoder input, int hiddenSize, Objective objective)
    {
        Architecture = architecture;
        Objective = objective;
        Network = network;
        ClassNames = classNames.ToArray();
        Input = input;
        HiddenSize = hiddenSize;
        _parameters = network.NamedParameters().ToList();
        int total = _parameters.Sum(p => p.Parameter.Length);
        Values = new float[total];
        Gradients = new float[total];
        int offset = 0;
        foreach (var (_, parameter) in _parameters)
        {
            parameter.Bind(Tensor.Parameter(Values, Gradients, offset, parameter.Shape));
            offset += parameter.Length;
        }
        InferenceChunk = ChunkFor(network, input.ItemShape);
        _sparseFirstLayer = SparseFirstLayer.For(network, input);
    }

    /// <summary>How <see cref="Forward"/> and <see cref="PredictProbabilities"/> compute the first layer, skipping blank pixels; null where they cannot.</summary>
    readonly SparseFirstLayer? _sparseFirstLayer;

    /// <summary>Whether <see cref="Forward"/> and <see cref="PredictProbabilities"/> compute the first layer over the pixels that are not blank (<see cref="Kernels.SparseInput"/>).</summary>
    internal bool UsesSparseFirstLayer => _sparseFirstLayer is { Runs: true } && Quantized is null;

    /// <summary>
    /// Images per forward pass when predicting: large batches go through in chunks whose largest
    /// activation is about 6 MB, so each layer's output is still in cache when the next layer reads
    /// it (64 images for the CNN; the MLP's batches fit whole).
    /// </summary>
    internal int InferenceChunk { get; }

    static int ChunkFor(Module network, int[] inputShape)
    {
        const int CacheFriendlyFloats = 3 << 19;
        int largest = 1;
        int[] shape = inputShape;
        foreach (var (_, module) in network.Children)
        {
            shape = module.OutputShape(shape);
            largest = Math.Max(largest, Tensor.Size(shape));
        }
        return Math.Max(16, CacheFriendlyFloats / largest / 16 * 16);
    }

    public Architecture Architecture { get; }
    public Objective Objective { get; }
    public Module Network { get; }
    public IReadOnlyList<string> ClassNames { get; }
    /// <summary>How the model turns items (images, documents) into its input rows.</summary>
    public IInputEncoder Input { get; }
    /// <summary>One item's input shape, without the batch dimension.</summary>
    public int[] InputShape => Input.ItemShape;
    /// <summary>Whether the model reads text (documents) rather than images.</summary>
    public bool ReadsText => Input is ITextEncoder;
    /// <summary>How pixels become inputs; the identity for a text model, which reads no pixels.</summary>
    public InputNormalization Normalization => Input is ImageInput images ? images.Normalization : InputNormalization.Unit;
    /// <summary>Refuses a data set of items the model does not read (text for an image model, images for a text model).</summary>
    /// <exception cref="ArgumentException">It holds other items; ParamName is <paramref name="parameter"/>.</exception>
    public void RequireReads(Dataset data, string parameter)
    {
        if (!Input.Reads(data))
            throw new ArgumentException($"{data.Name} holds {data.ItemNoun}; the {Architecture} model reads {Input.ItemNoun}.", parameter);
    }

    /// <summary>How a TextNgram model hashes documents; null for other architectures.</summary>
    public HashedNgrams? TextFeatures => (Input as HashedTextInput)?.Features;
    /// <summary>How many bytes a Gru model reads; null for other architectures.</summary>
    public ByteSequences? Sequences => (Input as ByteSequenceInput)?.Settings;
    /// <summary>Width of the MLP's first hidden layer, the TextNgram's hidden layer or each Gru layer (0 for other architectures).</summary>
    public int HiddenSize { get; }

    /// <summary>Divides the logits before softmax when reporting confidence (1 = uncalibrated).</summary>
    public float Temperature { get; set; } = 1;
    /// <summary>Epochs of training behind these weights.</summary>
    public int TrainedEpochs { get; set; }
    /// <summary>A one-line account of the training, e.g. data set, epochs and accuracy; stored in model files.</summary>
    public string TrainingSummary { get; set; } = "untrained";
    public DateTime CreatedUtc { get; set; } = DateTime.UtcNow;

    /// <summary>All parameter values, in <see cref="Parameters"/> order.</summary>
    public float[] Values { get; }
    /// <summary>All gradients, parallel to <see cref="Values"/>.</summary>
    public float[] Gradients { get; }

    public IEnumerable<(string Name, Tensor Value)> Parameters => _parameters.Select(p => (p.Name, p.Parameter.Value));
    public int ParameterCount => Values.Length;
    public int WeightCount => _parameters.Where(p => p.Name.EndsWith(".weight", StringComparison.Ordinal)).Sum(p => p.Parameter.Length);
    public int BiasCount => _parameters.Where(p => p.Name.EndsWith(".bias", StringComparison.Ordinal)).Sum(p => p.Parameter.Length);

    /// <summary>A new model with hello-dl's initialisation (uniform ±1/√fan_in), reproducible from the seed.</summary>
    /// <param name="hiddenSize">See <see cref="Architectures.Build"/>; ignored by architectures without a hidden width.</param>
    /// <param name="textFeatures">How a TextNgram model hashes documents (null: the defaults); ignored by the other architectures.</param>
    /// <param name="sequences">How many bytes a Gru model reads (null: the defaults); ignored by the other architectures.</param>
    /// <param name="objective">NextCharacter makes a Gru a language model over the 256 byte values (<paramref name="classNames"/> are then ignored).</param>
    /// <exception cref="ArgumentException">Fewer than two or repeated class names; NextCharacter for an architecture other than Gru.</exception>
    public static Model Create(Architecture architecture, IReadOnlyList<string> classNames, int seed = 1, int? hiddenSize = null, HashedNgrams? textFeatures = null,
        ByteSequences? sequences = null, Objective objective = Objective.Classify)
    {
        if (objective == Objective.NextCharacter)
        {
            if (architecture != Architecture.Gru) throw new ArgumentException($"Only a Gru model predicts next characters; a {architecture} model classifies.", nameof(objective));
            classNames = ByteSequenceInput.ByteClasses;
        }
        if (classNames.Count < 2) throw new ArgumentException("A classifier needs at least two classes.", nameof(classNames));
        if (classNames.Distinct().Count() != classNames.Count) throw new ArgumentException("Class names must be distinct.", nameof(classNames));
        var (network, input) = Architectures.Build(architecture, classNames.Count, hiddenSize, textFeatures, sequences, objective);
        var model = new Model(architecture, network, classNames, input, Architectures.HasHiddenSize(architecture) ? hiddenSize ?? Architectures.DefaultHiddenSize(architecture) : 0, objective);
        model.Initialize(seed);
        return model;
    }

    /// <summary>A new model of <paramref name="source"/>'s architecture and sizes (hidden width, text features) for the given classes.</summary>
    static Model CreateLike(Model source, IReadOnlyList<string> classNames, int seed) =>
        Create(source.Architecture, classNames, seed, source.HiddenSize, source.TextFeatures, source.Sequences, source.Objective);

    /// <summary>
    /// A model to fine-tune: the architecture of <paramref name="source"/>, with a copy of its
    /// trained layers. The output layer is copied too when <paramref name="classNames"/> are the
    /// source's, in its order; otherwise it is made new (drawn from <paramref name="seed"/>) for
    /// the new class list. The source is not changed.
    /// </summary>
    public static Model FineTuneFrom(Model source, IReadOnlyList<string> classNames, int seed = 1)
    {
        var model = CreateLike(source, classNames, seed);
        bool sameClasses = source.ClassNames.SequenceEqual(classNames, StringComparer.Ordinal);
        var sourceLayout = source.ParameterLayout.ToDictionary(p => p.Name);
        foreach (var (name, offset, length) in model.ParameterLayout)
        {
            if (!sameClasses && LayerOf(name) == model.OutputLayer) continue;
            var from = sourceLayout[name];
            Array.Copy(source.Values, from.Offset, model.Values, offset, length);
        }
        model.Temperature = sameClasses ? source.Temperature : 1;
        model.TrainedEpochs = source.TrainedEpochs;
        model.TrainingSummary = $"fine-tune of: {source.TrainingSummary}" + (sameClasses ? "" : $"; new output layer for {string.Join(" ", classNames)}");
        return model;
    }

    static string LayerOf(string parameterName) => parameterName[..parameterName.IndexOf('.', StringComparison.Ordinal)];

    /// <summary>Where each parameter lives in <see cref="Values"/> (and <see cref="Gradients"/>).</summary>
    public IReadOnlyList<(string Name, int Offset, int Length)> ParameterLayout
    {
        get
        {
            var layout = new List<(string, int, int)>(_parameters.Count);
            int offset = 0;
            foreach (var (name, parameter) in _parameters)
            {
                layout.Add((name, offset, parameter.Length));
                offset += parameter.Length;
            }
            return layout;
        }
    }

    /// <summary>The top-level layers that have parameters (the ones that can be frozen), input first.</summary>
    public IReadOnlyList<string> TrainableLayers => Network.Children.Where(c => c.Module.ParameterCount > 0).Select(c => c.Name).ToList();

    /// <summary>The layer that maps to the classes.</summary>
    public string OutputLayer => TrainableLayers[^1];

    /// <summary>The ranges of <see cref="Values"/> that hold the given top-level layers' parameters.</summary>
    /// <exception cref="ArgumentException">A name is not one of <see cref="TrainableLayers"/>.</exception>
    public IReadOnlyList<(int Offset, int Length)> RangesOf(IEnumerable<string> layers)
    {
        var wanted = layers.ToHashSet(StringComparer.Ordinal);
        if (wanted.FirstOrDefault(l => !TrainableLayers.Contains(l)) is { } unknown)
            throw new ArgumentException($"The {Architecture} model has no layer '{unknown}' with weights; its layers are {string.Join(", ", TrainableLayers)}.", nameof(layers));
        return ParameterLayout.Where(p => wanted.Contains(LayerOf(p.Name))).Select(p => (p.Offset, p.Length)).ToList();
    }

    /// <summary>Draws every parameter afresh from ±its bound, in parameter order.</summary>
    public void Initialize(int seed)
    {
        var random = new Random(seed);
        foreach (var (_, parameter) in _parameters)
        {
            var values = parameter.Value.Data;
            for (int i = 0; i < values.Length; i++) values[i] = (random.NextSingle() * 2 - 1) * parameter.InitBound;
        }
    }

    /// <summary>Log-probabilities [N, classes] for a batch of encoded inputs [N, ..<see cref="InputShape"/>] (through the integer network if the model is quantised).</summary>
    /// <exception cref="InvalidOperationException">A quantised model on a recording tape: it cannot be trained.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public Tensor Forward(Tape tape, Tensor input) => Quantized is null ? _sparseFirstLayer?.Forward(tape, input) ?? Network.Forward(tape, input)
        : tape.Recording ? throw new InvalidOperationException($"{this} cannot be trained: train the float model and quantise it again.")
        : Quantized.Forward(tape, input);

    /// <summary>
    /// The integer network that classifies for this model, or null for a float model. A quantised
    /// model's <see cref="Values"/> hold its weights as the integers represent them (dequantised).
    /// </summary>
    public IQuantizedNetwork? Quantized { get; private set; }

    /// <summary>
    /// A model like <paramref name="source"/> (architecture, classes, calibration, history) whose
    /// weights are <paramref name="dequantizedValues"/> and which classifies with <paramref name="network"/>.
    /// </summary>
    internal static Model WithQuantizedNetwork(Model source, ReadOnlySpan<float> dequantizedValues, IQuantizedNetwork network)
    {
        var model = CreateLike(source, source.ClassNames, seed: 0);
        dequantizedValues.CopyTo(model.Values);
        model.Temperature = source.Temperature;
        model.TrainedEpochs = source.TrainedEpochs;
        model.TrainingSummary = source.TrainingSummary;
        model.CreatedUtc = source.CreatedUtc;
        model.Quantized = network;
        return model;
    }

    /// <summary>Clears all gradients (before accumulating a new batch's).</summary>
    public void ZeroGradients() => Array.Clear(Gradients);

    /// <summary>
    /// After a backward pass on a tape with <see cref="Tape.FreshParameterGradients"/>: clears the
    /// gradients of the parameters no op reached in that pass, which still hold an earlier pass's.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void ClearGradientsNotReachedBy(Tape tape)
    {
        foreach (var (_, parameter) in _parameters)
            if (!tape.Reached(parameter.Value)) parameter.Value.Grad.Clear();
    }

    /// <summary>
    /// Class probabilities for encoded inputs [count, ..<see cref="InputShape"/>], written to probabilities
    /// [count, classes]: at <paramref name="temperature"/> (see <see cref="TemperatureScaling"/>; pass
    /// <see cref="Temperature"/> for calibrated ones), rescaled on the threads that computed them
    /// (rescaled afterwards on the calling thread, a calibrated MLP evaluated 9-16% slower than an
    /// uncalibrated one on Zen 4). Safe to call from many threads at once. The threads take whole chunks of
    /// images through the whole network, each on its own tape: handing every layer's work over
    /// between threads cost as much as the MLP's small layers themselves. The MLP's first layer
    /// skips the blank pixels (<see cref="SparseFirstLayer"/>). An image's result does not depend
    /// on which chunk it is in.
    /// </summary>
    public unsafe void PredictProbabilities(Tensor input, Span<float> probabilities, float temperature = 1)
    {
        int count = input.Dim(0), classes = ClassNames.Count;
        if (probabilities.Length < count * classes) throw new ArgumentException($"Room for {count} x {classes} probabilities is needed.", nameof(probabilities));
        int chunk = Math.Min(InferenceChunk, Math.Max(MinimumImagesPerThread, (count + Kernels.Parallelism.MaxThreads - 1) / Kernels.Parallelism.MaxThreads));
        int chunks = (count + chunk - 1) / chunk;
        var sparse = UsesSparseFirstLayer ? _sparseFirstLayer : null;
        var prepared = sparse?.Current();
        fixed (float* pointer = probabilities)
        {
            float* output = pointer;
            Kernels.Parallelism.For(chunks, (long)count * ParameterCount, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (piece) =>
            {
                int first = piece * chunk, images = Math.Min(chunk, count - first);
                var tape = _inferenceTape ??= new Tape(recording: false) { Training = false };
                tape.Reset();
                var chunkInput = images == count ? input : input.BatchView(first, images);
                var logProbabilities = (prepared is null ? Forward(tape, chunkInput) : sparse!.Forward(tape, chunkInput, prepared)).Data;
                TemperatureScaling.ToProbabilities(logProbabilities, classes, temperature, new Span<float>(output + first * classes, images * classes));
            });
        }
    }

    /// <summary>Fewer images than this per thread are not worth a thread of their own.</summary>
    const int MinimumImagesPerThread = 32;

    /// <summary>Layer, output shape and parameter count per top-level layer, like a Keras summary.</summary>
    public IReadOnlyList<LayerSummary> Summary()
    {
        var rows = new List<LayerSummary>();
        int[] shape = InputShape;
        foreach (var (name, module) in Network.Children)
        {
            shape = module.OutputShape(shape);
            rows.Add(new LayerSummary(name, module.Describe, Tensor.ShapeText(shape), module.ParameterCount));
        }
        return rows;
    }

    /// <summary>The summary as a text table, with the total parameter count.</summary>
    public string SummaryText()
    {
        var rows = Summary();
        int nameWidth = Math.Max(5, rows.Max(r => r.Name.Length)) + 2, layerWidth = Math.Max(5, rows.Max(r => r.Layer.Length)) + 2;
        int shapeWidth = Math.Max(12, rows.Max(r => r.OutputShape.Length)) + 2;
        var text = new System.Text.StringBuilder();
        text.Append("Name".PadRight(nameWidth)).Append("Layer".PadRight(layerWidth)).Append("Output shape".PadRight(shapeWidth)).Append("Parameters".PadLeft(10)).Append('\n');
        text.Append(new string('-', nameWidth + layerWidth + shapeWidth + 10)).Append('\n');
        foreach (var row in rows)
            text.Append(row.Name.PadRight(nameWidth)).Append(row.Layer.PadRight(layerWidth)).Append(row.OutputShape.PadRight(shapeWidth))
                .Append(row.Parameters.ToString("N0").PadLeft(10)).Append('\n');
        text.Append($"Total: {ParameterCount:N0} parameters ({WeightCount:N0} weights, {BiasCount:N0} biases); input {Tensor.ShapeText(InputShape)}; "
            + (Objective == Objective.NextCharacter ? "predicts the next of 256 byte values" : $"classes {string.Join(" ", ClassNames)}"));
        return text.ToString();
    }

    public override string ToString() => Objective == Objective.NextCharacter ? $"{Architecture} language model, {ParameterCount:N0} parameters" : $"{Architecture} model, {ClassNames.Count} classes, {ParameterCount:N0} parameters" + (Quantized is { } q ? $", {q.Bits}-bit" : "");
}
