using System.Runtime.InteropServices;
using Google.Protobuf;
using HelloDl.Nn;
using Onnx;

namespace HelloDl.Serialization;

/// <summary>The files Export-HelloModel writes.</summary>
public enum ModelFileFormat
{
    /// <summary>HelloDl's model file: safetensors with HelloDl's metadata and a checksum; Import-HelloModel reads it.</summary>
    SafeTensors,
    /// <summary>An ONNX graph for other runtimes (see <see cref="OnnxExport"/>); HelloDl does not read it back.</summary>
    Onnx,
}

/// <summary>
/// Writes a model as an ONNX graph that other runtimes (ONNX Runtime, OpenCV's dnn, ...) run as
/// HelloDl does: input <see cref="InputName"/>, float32 [N, 1, 28, 28] of pixels scaled to 0..1
/// (ink bright, as Invoke-HelloClassify prepares images); the model's normalisation, its layers
/// and its temperature inside the graph; output <see cref="OutputName"/>, float32 [N, classes]
/// log-probabilities, whose exp are the confidences HelloDl reports. Dropout is left out (it
/// does nothing at inference) and GELU is the exact erf form. The model's metadata (class names
/// as a JSON array, architecture, normalisation, temperature, training summary) goes into the
/// ONNX model's metadata_props under the keys HelloDl model files use. The messages are the ONNX
/// project's own schema (onnx.proto of ONNX 1.12) compiled by protoc, so the encoding is
/// protobuf's, not ours.
/// </summary>
public static class OnnxExport
{
    public const string InputName = "pixels";
    public const string OutputName = "log_probabilities";
    /// <summary>ONNX opset 13: LogSoftmax along one axis, Erf, MaxPool's ceil_mode; run by every current runtime.</summary>
    public const int OpsetVersion = 13;

    /// <summary>Writes the graph to <paramref name="path"/> atomically.</summary>
    /// <exception cref="NotSupportedException">The model is quantised, or has a layer ONNX export does not know.</exception>
    public static void Save(Model model, string path)
    {
        var onnx = Build(model);
        AtomicFile.Write(path, onnx.WriteTo);
    }

    /// <summary>The graph as ONNX's protobuf bytes.</summary>
    public static byte[] ToBytes(Model model) => Build(model).ToByteArray();

    internal static ModelProto Build(Model model)
    {
        if (model.Quantized is not null)
            throw new NotSupportedException($"{model} is quantised, and ONNX export writes float graphs: export the float model it was made from (ONNX Runtime can quantise that graph itself).");
        if (model.ReadsText)
            throw new NotSupportedException($"{model} reads text, and its hashing of documents into features has no ONNX operator: ONNX export is for the image models (Linear, Mlp, Cnn).");
        var graph = new GraphBuilder($"HelloDl {model.Architecture}");
        string x = graph.Input(InputName, [null, .. Model.ImageInputShape]);
        // (p - mean) / std: HelloDl's input normalisation, on pixels already divided by 255.
        x = graph.Node("Div", [graph.Node("Sub", [x, graph.Scalar("input_mean", model.Normalization.Mean)], "normalize"),
            graph.Scalar("input_std", model.Normalization.StandardDeviation)], "normalize");
        foreach (var (name, layer) in model.Network.Children) x = Layer(graph, name, layer, x, model.Temperature);
        graph.Output(OutputName, x, model.ClassNames.Count);

        var onnx = new ModelProto
        {
            IrVersion = (long)Onnx.Version.IrVersion,
            ProducerName = "HelloDl",
            ProducerVersion = typeof(OnnxExport).Assembly.GetName().Version?.ToString(3) ?? "",
            Domain = "org.hellodl",
            DocString = $"{model}; input {InputName} [N, 1, 28, 28] float32, pixels 0..1 (ink bright); output {OutputName} [N, {model.ClassNames.Count}] float32, log-probabilities in class_names order.",
            Graph = graph.Graph,
        };
        onnx.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = OpsetVersion });
        foreach (var (key, value) in ModelFile.ModelMetadata(model).Where(p => p.Key is not ("format" or "format_version")))
            onnx.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        return onnx;
    }

    static string Layer(GraphBuilder graph, string name, Module layer, string x, float temperature) => layer switch
    {
        FlattenLayer => graph.Node("Flatten", [x], name, GraphBuilder.Int("axis", 1)),
        LinearLayer linear => graph.Node("Gemm", [x, graph.Weights($"{name}.weight", linear.Weight), graph.Weights($"{name}.bias", linear.Bias)], name, GraphBuilder.Int("transB", 1)),
        Conv2dLayer conv => graph.Node("Conv", [x, graph.Weights($"{name}.weight", conv.Weight), graph.Weights($"{name}.bias", conv.Bias)], name,
            GraphBuilder.Ints("kernel_shape", conv.Kernel, conv.Kernel), GraphBuilder.Ints("strides", conv.Stride, conv.Stride),
            GraphBuilder.Ints("pads", conv.Padding, conv.Padding, conv.Padding, conv.Padding)),
        MaxPool2dLayer pool => graph.Node("MaxPool", [x], name,
            GraphBuilder.Ints("kernel_shape", pool.Kernel, pool.Kernel), GraphBuilder.Ints("strides", pool.Stride, pool.Stride),
            GraphBuilder.Int("ceil_mode", pool.CeilMode ? 1 : 0)),
        DropoutLayer => x,
        ActivationLayer { Kind: ActivationKind.Relu } => graph.Node("Relu", [x], name),
        ActivationLayer { Kind: ActivationKind.Sigmoid } => graph.Node("Sigmoid", [x], name),
        ActivationLayer { Kind: ActivationKind.Tanh } => graph.Node("Tanh", [x], name),
        ActivationLayer { Kind: ActivationKind.Gelu } => Gelu(graph, name, x),
        // Two-class "sign decides": logits [0, s], the zero column as s · 0.
        SignToLogitsLayer => graph.Node("Concat", [graph.Node("Mul", [x, graph.Scalar("zero", 0)]), x], name, GraphBuilder.Int("axis", 1)),
        // The calibrated temperature divides the logits, as Invoke-HelloClassify's confidences do.
        LogSoftmaxLayer => graph.Node("LogSoftmax", [temperature == 1 ? x : graph.Node("Div", [x, graph.Scalar("temperature", temperature)])], name,
            GraphBuilder.Int("axis", 1)),
        _ => throw new NotSupportedException($"ONNX export does not know the layer '{name}' ({layer.Describe})."),
    };

    /// <summary>GELU(x) = x · ½ (1 + erf(x / √2)), exactly; opset 20's Gelu op is not yet run everywhere.</summary>
    static string Gelu(GraphBuilder graph, string layer, string x)
    {
        string erf = graph.Node("Erf", [graph.Node("Div", [x, graph.Scalar("sqrt2", MathF.Sqrt(2))], layer)], layer);
        string half = graph.Node("Mul", [graph.Scalar("half", 0.5f), graph.Node("Add", [graph.Scalar("one", 1), erf], layer)], layer);
        return graph.Node("Mul", [x, half], layer);
    }

    /// <summary>Nodes, initializers and the graph's input and output, with unique value names.</summary>
    sealed class GraphBuilder(string name)
    {
        readonly Dictionary<string, int> _uses = new(StringComparer.Ordinal);
        readonly Dictionary<string, float> _scalars = new(StringComparer.Ordinal);

        public GraphProto Graph { get; } = new() { Name = name };

        public string Input(string inputName, int?[] shape)
        {
            Graph.Input.Add(Value(inputName, shape));
            return inputName;
        }

        /// <summary>The last node's output becomes the graph's output, renamed.</summary>
        public void Output(string outputName, string value, int classes)
        {
            var last = Graph.Node[^1];
            if (last.Output[0] != value) throw new InvalidOperationException("The graph's output is not its last node's.");
            last.Output[0] = outputName;
            Graph.Output.Add(Value(outputName, [null, classes]));
        }

        public string Node(string op, string[] inputs, string? layer = null, params AttributeProto[] attributes)
        {
            string nodeName = Unique(layer is null ? op : $"{layer}/{op}");
            var node = new NodeProto { OpType = op, Name = nodeName };
            node.Input.AddRange(inputs);
            node.Output.Add(nodeName);
            node.Attribute.AddRange(attributes);
            Graph.Node.Add(node);
            return nodeName;
        }

        /// <summary>A layer's weight or bias, named as in HelloDl model files (fc1.weight).</summary>
        public string Weights(string valueName, Parameter parameter)
        {
            AddInitializer(valueName, parameter.Shape, parameter.Value.Data);
            return valueName;
        }

        /// <summary>A float32 scalar, one initializer for every node that uses it.</summary>
        public string Scalar(string scalarName, float value)
        {
            if (!_scalars.TryAdd(scalarName, value))
            {
                if (_scalars[scalarName] != value) throw new InvalidOperationException($"The scalar '{scalarName}' is used with two values.");
                return scalarName;
            }
            AddInitializer(scalarName, [], [value]);
            return scalarName;
        }

        void AddInitializer(string valueName, int[] shape, ReadOnlySpan<float> values)
        {
            var tensor = new TensorProto { Name = valueName, DataType = (int)TensorProto.Types.DataType.Float };
            tensor.Dims.AddRange(shape.Select(d => (long)d));
            // raw_data is little-endian by the ONNX spec.
            if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("ONNX export needs a little-endian machine.");
            tensor.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values));
            Graph.Initializer.Add(tensor);
        }

        string Unique(string stem)
        {
            int n = _uses.GetValueOrDefault(stem);
            _uses[stem] = n + 1;
            return n == 0 ? stem : $"{stem}_{n}";
        }

        public static AttributeProto Int(string attributeName, long value) =>
            new() { Name = attributeName, Type = AttributeProto.Types.AttributeType.Int, I = value };

        public static AttributeProto Ints(string attributeName, params long[] values)
        {
            var attribute = new AttributeProto { Name = attributeName, Type = AttributeProto.Types.AttributeType.Ints };
            attribute.Ints.AddRange(values);
            return attribute;
        }

        static ValueInfoProto Value(string valueName, int?[] shape)
        {
            var tensorShape = new TensorShapeProto();
            foreach (int? d in shape)
                tensorShape.Dim.Add(d is { } size ? new TensorShapeProto.Types.Dimension { DimValue = size } : new TensorShapeProto.Types.Dimension { DimParam = "N" });
            return new ValueInfoProto
            {
                Name = valueName,
                Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = tensorShape } },
            };
        }
    }
}
