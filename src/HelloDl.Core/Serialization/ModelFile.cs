using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using HelloDl.Data;
using HelloDl.Nn;
using HelloDl.Optim;
using HelloDl.Quantization;
using HelloDl.Text;

namespace HelloDl.Serialization;

/// <summary>A training checkpoint: the model plus what is needed to continue training it.</summary>
public sealed record Checkpoint(Model Model, int CompletedEpochs, OptimizerKind Optimizer, long OptimizerSteps, IReadOnlyDictionary<string, float[]> OptimizerState);

/// <summary>
/// HelloDl model files: safetensors whose tensor names are the model's hierarchical parameter
/// names (fc1.weight, ...) and whose metadata holds everything needed to classify with nothing
/// else: format version, architecture, class names, input normalisation, calibration and a
/// training summary, and a SHA-256 checksum of all the rest (<see cref="ChecksumKey"/>), so that
/// a file damaged on disk or on the way is refused rather than classifying differently. Files
/// are written atomically (temporary file, flush, rename), so a crash or
/// Ctrl+C never leaves half a model behind; loading validates strictly and builds the model only
/// when every check has passed.
/// </summary>
public static class ModelFile
{
    /// <summary>
    /// The newest version this HelloDl reads. 3: a quantised model (I8 or U8 weights, see
    /// <see cref="QuantizedTensors"/>); float models are still written as 2, which older HelloDl
    /// versions read. 2: files carry <see cref="ChecksumKey"/>, which a version-2 file must have
    /// (1: no checksum).
    /// </summary>
    public const int FormatVersion = 3;
    const int FloatFormatVersion = 2;
    const int FirstVersionWithChecksum = 2;
    const string QuantizationBitsKey = "quantization_bits";
    const string TextFeaturesKey = "text_features";
    const string TextSequencesKey = "text_sequences";
    const string ObjectiveKey = "objective";
    const string FormatName = "hellodl.model";
    const string OptimizerPrefix = "optimizer.";
    /// <summary>
    /// The metadata entry holding the SHA-256 (lower-case hex) of every other metadata entry and
    /// every tensor's name, shape and data; see <see cref="Checksum"/>. It is a plain string entry,
    /// so the files stay safetensors that any reader loads.
    /// </summary>
    public const string ChecksumKey = "checksum_sha256";

    public static void Save(Model model, string path) => WriteAtomically(path, ModelTensors(model), ModelMetadata(model));

    /// <summary>The model with the state of the optimizer training it, after <paramref name="completedEpochs"/> epochs.</summary>
    public static void SaveCheckpoint(Model model, string path, int completedEpochs, Optimizer optimizer)
    {
        var tensors = ModelTensors(model);
        foreach (var (name, values) in optimizer.State) tensors.Add(new NamedTensor(OptimizerPrefix + name, [values.Length], values));
        var metadata = ModelMetadata(model);
        metadata["checkpoint_completed_epochs"] = completedEpochs.ToString(CultureInfo.InvariantCulture);
        metadata["checkpoint_optimizer"] = optimizer.Kind.ToString();
        metadata["checkpoint_optimizer_steps"] = optimizer.StepCount.ToString(CultureInfo.InvariantCulture);
        WriteAtomically(path, tensors, metadata);
    }

    /// <summary>Loads a model (a checkpoint loads too: its optimizer state is ignored).</summary>
    /// <param name="warning">Told when the file cannot be checked (written before files carried a checksum).</param>
    public static Model Load(string path, Action<string>? warning = null) => LoadContent(path, warning, out _).Model;

    /// <param name="warning">Told when the file cannot be checked (written before files carried a checksum).</param>
    public static Checkpoint LoadCheckpoint(string path, Action<string>? warning = null)
    {
        var (model, content) = LoadContent(path, warning, out var optimizerState);
        var metadata = content.Metadata;
        if (!metadata.TryGetValue("checkpoint_completed_epochs", out var epochs) || !metadata.TryGetValue("checkpoint_optimizer", out var optimizer)
            || !metadata.TryGetValue("checkpoint_optimizer_steps", out var steps)
            || !int.TryParse(epochs, NumberStyles.None, CultureInfo.InvariantCulture, out int completed)
            || !long.TryParse(steps, NumberStyles.None, CultureInfo.InvariantCulture, out long stepCount))
            throw new ModelFileException(ModelFileErrorIds.NotACheckpoint, path, "this is a model file, not a training checkpoint (it has no optimizer state).");
        // By name only: Enum.TryParse would also take "1" or "sgd".
        if (!Enum.GetNames<OptimizerKind>().Contains(optimizer, StringComparer.Ordinal))
            throw new ModelFileException(ModelFileErrorIds.BadHeader, path,
                $"checkpoint_optimizer '{optimizer}' is not one of {string.Join(", ", Enum.GetNames<OptimizerKind>())}.");
        return new Checkpoint(model, completed, Enum.Parse<OptimizerKind>(optimizer), stepCount, optimizerState);
    }

    static List<NamedTensor> ModelTensors(Model model) => model.Quantized switch
    {
        null => model.Parameters.Select(p => new NamedTensor(p.Name, p.Value.Shape, p.Value.Data.ToArray())).ToList(),
        Int8Network network => QuantizedTensors(network),
        var other => throw new NotSupportedException($"A {other.GetType().Name} cannot be saved."),
    };

    /// <summary>
    /// Per weighted layer: 'weight' as I8 codes in the float layout with 'weight_scale' (F32, one
    /// per output channel), or for 4 bits as U8 (two codebook indices a byte, low nibble first)
    /// with 'weight_codebook' (F32 [16]); then 'bias' (F32) and 'input_range' (F32 [min, max]
    /// of the layer's input on the calibration images).
    /// </summary>
    static List<NamedTensor> QuantizedTensors(Int8Network network)
    {
        var tensors = new List<NamedTensor>();
        foreach (var layer in network.Layers)
        {
            string name = layer.Name;
            if (layer.FourBit is { } fourBit)
            {
                tensors.Add(NamedTensor.OfBytes($"{name}.weight", [fourBit.Nibbles.Length], TensorDType.U8, fourBit.Nibbles));
                tensors.Add(new NamedTensor($"{name}.weight_codebook", [FourBitWeights.Levels], fourBit.Codebook));
            }
            else
            {
                tensors.Add(NamedTensor.OfBytes($"{name}.weight", layer.WeightShape, TensorDType.I8, System.Runtime.InteropServices.MemoryMarshal.AsBytes(layer.Weights.AsSpan()).ToArray()));
                tensors.Add(new NamedTensor($"{name}.weight_scale", [layer.Outputs], layer.WeightScales));
            }
            tensors.Add(new NamedTensor($"{name}.bias", [layer.Outputs], layer.Bias));
            tensors.Add(new NamedTensor($"{name}.input_range", [2], [layer.Input.Min, layer.Input.Max]));
        }
        return tensors;
    }

    /// <summary>The layers of a quantised model file, checked as strictly as a float model's tensors.</summary>
    static List<QuantizedLayer> ReadQuantizedLayers(Model skeleton, Dictionary<string, NamedTensor> byName, int bits, string path)
    {
        NamedTensor Take(string name, TensorDType dtype, int[] shape)
        {
            if (!byName.Remove(name, out var tensor))
                throw new ModelFileException(ModelFileErrorIds.WrongShape, path, $"tensor '{name}' of the {bits}-bit {skeleton.Architecture} model is missing.");
            if (tensor.DType != dtype || !tensor.Shape.SequenceEqual(shape))
                throw new ModelFileException(ModelFileErrorIds.WrongShape, path,
                    $"tensor '{name}' is {tensor.DType} [{string.Join(", ", tensor.Shape)}] but the {bits}-bit {skeleton.Architecture} model needs {dtype} [{string.Join(", ", shape)}].");
            if (dtype == TensorDType.F32 && tensor.Values.Any(v => !float.IsFinite(v)))
                throw new ModelFileException(ModelFileErrorIds.BadTensor, path, $"tensor '{name}' holds NaN or infinite values.");
            return tensor;
        }
        var layers = new List<QuantizedLayer>();
        var shapes = skeleton.Parameters.ToDictionary(p => p.Name, p => p.Value.Shape, StringComparer.Ordinal);
        foreach (var name in skeleton.TrainableLayers)
        {
            int[] shape = shapes[$"{name}.weight"];
            int outputs = shape[0], count = Tensors.Tensor.Size(shape);
            var bias = Take($"{name}.bias", TensorDType.F32, [outputs]).Values;
            var range = Take($"{name}.input_range", TensorDType.F32, [2]).Values;
            var input = new ActivationRange(range[0], range[1]);
            try
            {
                if (bits == 4)
                {
                    var fourBit = new FourBitWeights(Take($"{name}.weight", TensorDType.U8, [(count + 1) / 2]).Bytes, Take($"{name}.weight_codebook", TensorDType.F32, [FourBitWeights.Levels]).Values);
                    layers.Add(QuantizedLayer.FromFourBit(name, shape, fourBit, bias, input));
                    continue;
                }
                var codes = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, sbyte>(Take($"{name}.weight", TensorDType.I8, shape).Bytes).ToArray();
                var scales = Take($"{name}.weight_scale", TensorDType.F32, [outputs]).Values;
                if (codes.Contains(sbyte.MinValue))
                    throw new ModelFileException(ModelFileErrorIds.BadTensor, path, $"tensor '{name}.weight' holds -128; quantised weights lie within ±127.");
                layers.Add(new QuantizedLayer(name, shape, codes, scales, bias, input));
            }
            catch (ArgumentException e) { throw new ModelFileException(ModelFileErrorIds.BadTensor, path, e.Message, e); }
        }
        if (byName.Count > 0)
            throw new ModelFileException(ModelFileErrorIds.WrongShape, path, $"unexpected tensor(s) for a {bits}-bit {skeleton.Architecture} model: {string.Join(", ", byName.Keys)}.");
        return layers;
    }

    /// <summary>The metadata every model file holds (ONNX export writes the same keys).</summary>
    internal static Dictionary<string, string> ModelMetadata(Model model) => new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["format"] = FormatName,
        ["format_version"] = (model.Quantized is null ? FloatFormatVersion : FormatVersion).ToString(CultureInfo.InvariantCulture),
        ["architecture"] = model.Architecture.ToString(),
        ["hidden_size"] = model.HiddenSize.ToString(CultureInfo.InvariantCulture),
        ["class_names"] = JsonSerializer.Serialize(model.ClassNames),
        ["input_mean"] = model.Normalization.Mean.ToString("R", CultureInfo.InvariantCulture),
        ["input_std"] = model.Normalization.StandardDeviation.ToString("R", CultureInfo.InvariantCulture),
        ["temperature"] = model.Temperature.ToString("R", CultureInfo.InvariantCulture),
        ["trained_epochs"] = model.TrainedEpochs.ToString(CultureInfo.InvariantCulture),
        ["training_summary"] = model.TrainingSummary,
        ["created_utc"] = model.CreatedUtc.ToString("O", CultureInfo.InvariantCulture),
    }.WithQuantization(model.Quantized).WithTextSettings(model);

    /// <summary>A text model's reading settings (without them its weights would read other input), and a language model's objective.</summary>
    static Dictionary<string, string> WithTextSettings(this Dictionary<string, string> metadata, Model model)
    {
        if (model.TextFeatures is { } features) metadata[TextFeaturesKey] = JsonSerializer.Serialize(features);
        if (model.Sequences is { } sequences) metadata[TextSequencesKey] = JsonSerializer.Serialize(sequences);
        if (model.Objective != Objective.Classify) metadata[ObjectiveKey] = model.Objective.ToString();
        return metadata;
    }

    static Dictionary<string, string> WithQuantization(this Dictionary<string, string> metadata, IQuantizedNetwork? network)
    {
        if (network is null) return metadata;
        metadata[QuantizationBitsKey] = network.Bits.ToString(CultureInfo.InvariantCulture);
        metadata["quantization_calibration"] = network.Calibration;
        return metadata;
    }

    /// <summary>
    /// SHA-256 over the metadata (without the checksum entry) in ordinal key order, then the
    /// tensors in ordinal name order: each text as its UTF-8 length (int32) and bytes, each shape
    /// as its rank and dimensions, each tensor's data as little-endian float32. Orders are fixed
    /// by sorting, so a reader that rewrites the header in another order keeps the sum valid.
    /// </summary>
    public static string Checksum(IEnumerable<NamedTensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var word = new byte[4];
        void Number(int value) { BinaryPrimitives.WriteInt32LittleEndian(word, value); hash.AppendData(word); }
        void Text(string text) { var bytes = Encoding.UTF8.GetBytes(text); Number(bytes.Length); hash.AppendData(bytes); }
        foreach (var (key, value) in metadata.Where(p => p.Key != ChecksumKey).OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            Text(key);
            Text(value);
        }
        foreach (var tensor in tensors.OrderBy(t => t.Name, StringComparer.Ordinal))
        {
            Text(tensor.Name);
            Number(tensor.Shape.Length);
            foreach (int d in tensor.Shape) Number(d);
            // Byte tensors also sum their dtype; F32 ones do not, as before byte tensors existed.
            if (tensor.DType != TensorDType.F32)
            {
                Text(tensor.DType.ToString());
                hash.AppendData(tensor.Bytes);
            }
            else if (BitConverter.IsLittleEndian) hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(tensor.Values.AsSpan()));
            else foreach (float v in tensor.Values) { BinaryPrimitives.WriteSingleLittleEndian(word, v); hash.AppendData(word); }
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    static void WriteAtomically(string path, IReadOnlyList<NamedTensor> tensors, Dictionary<string, string> metadata)
    {
        metadata[ChecksumKey] = Checksum(tensors, metadata);
        AtomicFile.Write(path, file => SafeTensors.Write(file, tensors, metadata));
    }

    static (Model Model, SafeTensorsContent Content) LoadContent(string path, Action<string>? warning, out Dictionary<string, float[]> optimizerState)
    {
        SafeTensorsContent content;
        try { content = SafeTensors.Read(path); }
        catch (EndOfStreamException e) { throw new ModelFileException(ModelFileErrorIds.Truncated, path, "the file ends early: it is truncated.", e); }
        catch (ModelFileException e) when (e.ErrorId == ModelFileErrorIds.NotSafetensors && string.Equals(System.IO.Path.GetExtension(path), ".onnx", StringComparison.OrdinalIgnoreCase))
        {
            throw new ModelFileException(e.ErrorId, path, "not a HelloDl model file but (by its name) an ONNX graph, which Export-HelloModel writes for other runtimes and HelloDl does not read back: import the model's .safetensors file.", e);
        }
        var metadata = content.Metadata;
        // A newer HelloDl's file is named as such even if it sums its content another way.
        bool versioned = int.TryParse(metadata.GetValueOrDefault("format_version"), NumberStyles.None, CultureInfo.InvariantCulture, out int written);
        if (metadata.GetValueOrDefault("format") == FormatName && versioned && written > FormatVersion)
            throw new ModelFileException(ModelFileErrorIds.NewerVersion, path,
                $"written in model format version {written} by a newer HelloDl; this HelloDl reads up to version {FormatVersion}. Update the HelloDl module to load it.");
        // Then the checksum, so that damage anywhere is named as such, not as whatever check it happens to fail.
        if (metadata.TryGetValue(ChecksumKey, out var stored))
        {
            if (stored != Checksum(content.Tensors, metadata))
                throw new ModelFileException(ModelFileErrorIds.Corrupt, path, "its content does not match the checksum stored in it: the file was damaged after it was written. Use another copy.");
        }
        else if (metadata.GetValueOrDefault("format") == FormatName)
        {
            // A damaged key name must not turn the check off: files of this version always have one.
            if (versioned && written >= FirstVersionWithChecksum)
                throw new ModelFileException(ModelFileErrorIds.Corrupt, path, $"a version-{written} model file always carries '{ChecksumKey}', and this one has none: the file is damaged. Use another copy.");
            warning?.Invoke($"{path}: this model file carries no checksum (it was written before HelloDl stored one), so damage to it cannot be detected. Export it again to add one.");
        }
        string Required(string key) => metadata.TryGetValue(key, out var value) ? value
            : throw new ModelFileException(ModelFileErrorIds.BadHeader, path, $"the metadata has no '{key}': not a HelloDl model file.");

        if (!metadata.TryGetValue("format", out var format) || format != FormatName)
            throw new ModelFileException(ModelFileErrorIds.BadHeader, path, "a safetensors file, but not a HelloDl model (its metadata has no format 'hellodl.model').");
        if (!int.TryParse(Required("format_version"), NumberStyles.None, CultureInfo.InvariantCulture, out int version) || version < 1)
            throw new ModelFileException(ModelFileErrorIds.BadHeader, path, $"format_version '{metadata["format_version"]}' is not a version number.");
        if (!Enum.TryParse<Architecture>(Required("architecture"), ignoreCase: false, out var architecture) || !Enum.IsDefined(architecture))
            throw new ModelFileException(ModelFileErrorIds.BadHeader, path, $"unknown architecture '{metadata["architecture"]}'.");
        string[]? classNames;
        try { classNames = JsonSerializer.Deserialize<string[]>(Required("class_names")); }
        catch (JsonException e) { throw new ModelFileException(ModelFileErrorIds.BadHeader, path, "class_names is not a JSON array of strings.", e); }
        if (classNames is null || classNames.Length < 2 || classNames.Any(string.IsNullOrEmpty) || classNames.Distinct().Count() != classNames.Length)
            throw new ModelFileException(ModelFileErrorIds.BadHeader, path, "class_names must list at least two distinct, non-empty names.");
        int hiddenSize = ParseInt(metadata, "hidden_size", 128, path);
        if (Architectures.HasHiddenSize(architecture) ? hiddenSize is < 1 or > 1 << 16 : hiddenSize is < 0 or > 1 << 16) throw new ModelFileException(ModelFileErrorIds.BadHeader, path, $"hidden_size {hiddenSize} is out of range.");

        var textFeatures = architecture == Architecture.TextNgram ? ReadSettings<HashedNgrams>(Required(TextFeaturesKey), TextFeaturesKey, path, f => f.Validate()) : null;
        var sequences = architecture == Architecture.Gru ? ReadSettings<ByteSequences>(Required(TextSequencesKey), TextSequencesKey, path, s => s.Validate()) : null;
        var objective = Objective.Classify;
        if (metadata.TryGetValue(ObjectiveKey, out var objectiveName))
        {
            // By name only: Enum.TryParse would also take "1".
            bool known = Enum.GetNames<Objective>().Contains(objectiveName, StringComparer.Ordinal);
            if (known) objective = Enum.Parse<Objective>(objectiveName);
            if (!known || (objective != Objective.Classify && architecture != Architecture.Gru))
                throw new ModelFileException(ModelFileErrorIds.BadHeader, path, $"objective '{objectiveName}' is not one the {architecture} architecture has.");
        }
        if (objective == Objective.NextCharacter && !classNames.SequenceEqual(ByteSequenceInput.ByteClasses))
            throw new ModelFileException(ModelFileErrorIds.BadHeader, path, "a language model's classes are the 256 byte values 00..ff.");
        var model = Model.Create(architecture, classNames, seed: 0, Architectures.HasHiddenSize(architecture) ? hiddenSize : null, textFeatures, sequences, objective);
        var normalization = new InputNormalization(ParseFloat(metadata, "input_mean", path), ParseFloat(metadata, "input_std", path));
        if (normalization != model.Normalization)
            throw new ModelFileException(ModelFileErrorIds.BadHeader, path, $"input normalisation (mean {normalization.Mean}, std {normalization.StandardDeviation}) differs from the {architecture} model's.");

        var byName = new Dictionary<string, NamedTensor>(StringComparer.Ordinal);
        optimizerState = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var tensor in content.Tensors)
        {
            if (tensor.Name.StartsWith(OptimizerPrefix, StringComparison.Ordinal) && tensor.DType == TensorDType.F32) optimizerState[tensor.Name[OptimizerPrefix.Length..]] = tensor.Values;
            else byName[tensor.Name] = tensor;
        }
        int bits = ParseInt(metadata, QuantizationBitsKey, 0, path);
        if (bits is not (0 or 4 or 8))
            throw new ModelFileException(ModelFileErrorIds.BadHeader, path, $"{QuantizationBitsKey} {bits} is not 8 or 4.");
        var quantizedLayers = bits == 0 ? null : ReadQuantizedLayers(model, byName, bits, path);
        foreach (var (name, value) in bits == 0 ? model.Parameters : [])
        {
            if (!byName.Remove(name, out var tensor))
                throw new ModelFileException(ModelFileErrorIds.WrongShape, path, $"tensor '{name}' of the {architecture} model is missing.");
            if (tensor.DType != TensorDType.F32 || !tensor.Shape.SequenceEqual(value.Shape))
                throw new ModelFileException(ModelFileErrorIds.WrongShape, path,
                    $"tensor '{name}' is {tensor.DType} [{string.Join(", ", tensor.Shape)}] but the {architecture} model with {classNames.Length} classes needs F32 [{string.Join(", ", value.Shape)}].");
            if (tensor.Values.Any(v => !float.IsFinite(v)))
                throw new ModelFileException(ModelFileErrorIds.BadTensor, path, $"tensor '{name}' holds NaN or infinite values.");
            tensor.Values.CopyTo(value.Data);
        }
        if (byName.Count > 0)
            throw new ModelFileException(ModelFileErrorIds.WrongShape, path, $"unexpected tensor(s) for a {architecture} model: {string.Join(", ", byName.Keys)}.");

        model.Temperature = ParseFloat(metadata, "temperature", path, fallback: 1);
        if (!(model.Temperature > 0) || !float.IsFinite(model.Temperature))
            throw new ModelFileException(ModelFileErrorIds.BadHeader, path, $"temperature {model.Temperature} must be a positive number.");
        model.TrainedEpochs = ParseInt(metadata, "trained_epochs", 0, path);
        model.TrainingSummary = metadata.GetValueOrDefault("training_summary", "");
        if (DateTime.TryParse(metadata.GetValueOrDefault("created_utc"), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var created)) model.CreatedUtc = created;
        if (quantizedLayers is not null) model = Quantizer.FromLayers(model, quantizedLayers, bits, metadata.GetValueOrDefault("quantization_calibration", ""));
        return (model, content);
    }

    /// <summary>A text model's reading settings, checked like every other entry: a bad one is the file's fault.</summary>
    static T ReadSettings<T>(string json, string key, string path, Action<T> validate) where T : class
    {
        T? settings;
        try { settings = JsonSerializer.Deserialize<T>(json, new JsonSerializerOptions { UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow }); }
        catch (JsonException e) { throw new ModelFileException(ModelFileErrorIds.BadHeader, path, $"{key} is not a JSON object of its settings: {e.Message}", e); }
        if (settings is null) throw new ModelFileException(ModelFileErrorIds.BadHeader, path, $"{key} is null.");
        try { validate(settings); }
        catch (ArgumentOutOfRangeException e) { throw new ModelFileException(ModelFileErrorIds.BadHeader, path, $"{key}: {e.Message}", e); }
        return settings;
    }

    static int ParseInt(IReadOnlyDictionary<string, string> metadata, string key, int fallback, string path) =>
        !metadata.TryGetValue(key, out var text) ? fallback
        : int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) ? value
        : throw new ModelFileException(ModelFileErrorIds.BadHeader, path, $"metadata '{key}' = '{text}' is not an integer.");

    static float ParseFloat(IReadOnlyDictionary<string, string> metadata, string key, string path, float? fallback = null) =>
        !metadata.TryGetValue(key, out var text)
            ? fallback ?? throw new ModelFileException(ModelFileErrorIds.BadHeader, path, $"the metadata has no '{key}'.")
        : float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out float value) ? value
        : throw new ModelFileException(ModelFileErrorIds.BadHeader, path, $"metadata '{key}' = '{text}' is not a number.");
}
