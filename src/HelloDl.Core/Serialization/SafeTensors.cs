using System.Buffers.Binary;
using System.Text.Json;

namespace HelloDl.Serialization;

/// <summary>The element types HelloDl reads and writes: float32, and the signed and unsigned bytes of quantised weights.</summary>
public enum TensorDType { F32, I8, U8 }

/// <summary>One tensor of a safetensors file: an F32 tensor's elements in <see cref="Values"/>, an I8 or U8 tensor's in <see cref="Bytes"/>.</summary>
public sealed record NamedTensor(string Name, int[] Shape, float[] Values)
{
    public TensorDType DType { get; init; } = TensorDType.F32;
    public byte[] Bytes { get; init; } = [];

    public static NamedTensor OfBytes(string name, int[] shape, TensorDType dtype, byte[] bytes) => new(name, shape, []) { DType = dtype, Bytes = bytes };

    internal int ElementSize => DType == TensorDType.F32 ? 4 : 1;
    internal long ByteLength => DType == TensorDType.F32 ? 4L * Values.Length : Bytes.Length;
}

/// <summary>The contents of a safetensors file: tensors in file order and the string metadata.</summary>
public sealed record SafeTensorsContent(IReadOnlyList<NamedTensor> Tensors, IReadOnlyDictionary<string, string> Metadata);

/// <summary>
/// The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON header
/// mapping each tensor name to dtype, shape and [begin, end) byte offsets into the data that
/// follows, an optional "__metadata__" string map, then the raw little-endian data. Only F32 is
/// written or accepted. Reading validates everything before trusting any number in the header.
/// </summary>
public static class SafeTensors
{
    /// <summary>Headers larger than this are refused (the format's own reference reader uses 100 MB).</summary>
    public const long MaxHeaderBytes = 100_000_000;
    const string MetadataKey = "__metadata__";

    public static void Write(Stream stream, IReadOnlyList<NamedTensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        using var json = new MemoryStream();
        using (var writer = new Utf8JsonWriter(json))
        {
            writer.WriteStartObject();
            writer.WriteStartObject(MetadataKey);
            foreach (var (key, value) in metadata.OrderBy(p => p.Key, StringComparer.Ordinal)) writer.WriteString(key, value);
            writer.WriteEndObject();
            long offset = 0;
            foreach (var tensor in tensors)
            {
                writer.WriteStartObject(tensor.Name);
                writer.WriteString("dtype", tensor.DType.ToString());
                writer.WriteStartArray("shape");
                foreach (int d in tensor.Shape) writer.WriteNumberValue(d);
                writer.WriteEndArray();
                writer.WriteStartArray("data_offsets");
                writer.WriteNumberValue(offset);
                writer.WriteNumberValue(offset += tensor.ByteLength);
                writer.WriteEndArray();
                writer.WriteEndObject();
            }
            writer.WriteEndObject();
        }
        // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
        int padding = (int)((8 - json.Length % 8) % 8);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)(json.Length + padding));
        stream.Write(length);
        json.Position = 0;
        json.CopyTo(stream);
        for (int i = 0; i < padding; i++) stream.WriteByte((byte)' ');
        Span<byte> word = stackalloc byte[4];
        foreach (var tensor in tensors)
        {
            if (tensor.DType != TensorDType.F32) stream.Write(tensor.Bytes);
            else if (BitConverter.IsLittleEndian) stream.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(tensor.Values.AsSpan()));
            else foreach (float v in tensor.Values) { BinaryPrimitives.WriteSingleLittleEndian(word, v); stream.Write(word); }
        }
    }

    public static SafeTensorsContent Read(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        long fileLength = file.Length;
        Span<byte> lengthBytes = stackalloc byte[8];
        if (file.ReadAtLeast(lengthBytes, 8, throwOnEndOfStream: false) < 8)
            throw new ModelFileException(ModelFileErrorIds.Truncated, path, $"the file is {fileLength} bytes long, too short for a safetensors header.");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength < 2 || headerLength > MaxHeaderBytes)
            throw new ModelFileException(ModelFileErrorIds.NotSafetensors, path, $"not a safetensors file: the header length field says {headerLength:N0} bytes.");
        if ((long)headerLength > fileLength - 8)
            throw new ModelFileException(ModelFileErrorIds.Truncated, path, $"the header claims {headerLength:N0} bytes but only {fileLength - 8:N0} follow: the file is truncated.");
        var header = new byte[headerLength];
        file.ReadExactly(header);

        // Checked before parsing: the parser accepts invalid UTF-8 and fails only when a name or value is read.
        if (!System.Text.Unicode.Utf8.IsValid(header))
            throw new ModelFileException(ModelFileErrorIds.BadHeader, path, "the safetensors header is not valid UTF-8 text.");
        JsonDocument document;
        try { document = JsonDocument.Parse(header.AsMemory().TrimEnd((byte)' '), HeaderOptions); }
        catch (JsonException e) { throw new ModelFileException(ModelFileErrorIds.BadHeader, path, $"the safetensors header is not valid JSON ({e.Message}).", e); }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new ModelFileException(ModelFileErrorIds.BadHeader, path, "the safetensors header is not a JSON object.");
            long dataLength = fileLength - 8 - (long)headerLength;
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var entries = new List<(string Name, TensorDType DType, int[] Shape, long Begin, long End)>();
            RequireUniqueNames(document.RootElement, "the header", path);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Name == MetadataKey) ReadMetadata(property.Value, metadata, path);
                else entries.Add(ReadEntry(property, path));
            }
            // Offsets must tile the data exactly: no gaps, no overlaps, nothing outside the file.
            long expected = 0;
            foreach (var entry in entries.OrderBy(e => e.Begin))
            {
                if (entry.Begin != expected)
                    throw new ModelFileException(ModelFileErrorIds.BadTensor, path, $"tensor '{entry.Name}' starts at byte {entry.Begin} of the data, expected {expected}: offsets must be contiguous.");
                expected = entry.End;
            }
            if (expected != dataLength)
                throw new ModelFileException(expected > dataLength ? ModelFileErrorIds.Truncated : ModelFileErrorIds.BadTensor, path,
                    $"the tensors cover {expected:N0} bytes of data but the file holds {dataLength:N0}" + (expected > dataLength ? ": the file is truncated." : "."));

            var tensors = new List<NamedTensor>(entries.Count);
            long dataStart = 8 + (long)headerLength;
            foreach (var entry in entries)
            {
                file.Position = dataStart + entry.Begin;
                if (entry.DType != TensorDType.F32)
                {
                    var bytes = new byte[entry.End - entry.Begin];
                    file.ReadExactly(bytes);
                    tensors.Add(NamedTensor.OfBytes(entry.Name, entry.Shape, entry.DType, bytes));
                    continue;
                }
                var values = new float[(entry.End - entry.Begin) / 4];
                file.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
                if (!BitConverter.IsLittleEndian)
                    for (int i = 0; i < values.Length; i++) values[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReverseEndianness(BitConverter.SingleToInt32Bits(values[i])));
                tensors.Add(new NamedTensor(entry.Name, entry.Shape, values));
            }
            return new SafeTensorsContent(tensors, metadata);
        }
    }

    /// <summary>A header is three levels deep (header, tensor entry, shape); anything deeper is refused while parsing.</summary>
    static readonly JsonDocumentOptions HeaderOptions = new() { MaxDepth = 4 };

    /// <summary>JSON allows a name twice in an object, and readers disagree on which one counts; a header must not.</summary>
    static void RequireUniqueNames(JsonElement element, string what, string path)
    {
        if (element.ValueKind != JsonValueKind.Object) return;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
            if (!seen.Add(property.Name))
                throw new ModelFileException(ModelFileErrorIds.BadHeader, path, $"'{property.Name}' appears twice in {what}.");
    }

    static void ReadMetadata(JsonElement element, Dictionary<string, string> metadata, string path)
    {
        if (element.ValueKind != JsonValueKind.Object)
            throw new ModelFileException(ModelFileErrorIds.BadHeader, path, "__metadata__ is not a JSON object.");
        RequireUniqueNames(element, "__metadata__", path);
        foreach (var item in element.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
                throw new ModelFileException(ModelFileErrorIds.BadHeader, path, $"metadata '{item.Name}' is not a string.");
            metadata[item.Name] = item.Value.GetString()!;
        }
    }

    static (string Name, TensorDType DType, int[] Shape, long Begin, long End) ReadEntry(JsonProperty property, string path)
    {
        string name = property.Name;
        var value = property.Value;
        ModelFileException Bad(string problem) => new(ModelFileErrorIds.BadTensor, path, $"tensor '{name}': {problem}");
        if (value.ValueKind != JsonValueKind.Object) throw Bad("its entry is not a JSON object.");
        RequireUniqueNames(value, $"the entry of tensor '{name}'", path);
        if (!value.TryGetProperty("dtype", out var dtype) || dtype.ValueKind != JsonValueKind.String)
            throw Bad("no dtype.");
        // By name only: Enum.TryParse would also take "0" or "f32".
        if (!Enum.GetNames<TensorDType>().Contains(dtype.GetString(), StringComparer.Ordinal))
            throw Bad($"dtype {dtype.GetString()} is not supported (only {string.Join(", ", Enum.GetNames<TensorDType>())}).");
        var type = Enum.Parse<TensorDType>(dtype.GetString()!);
        int elementSize = type == TensorDType.F32 ? 4 : 1;
        if (!value.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array || shapeElement.GetArrayLength() > 8)
            throw Bad("no valid shape.");
        var shape = new int[shapeElement.GetArrayLength()];
        long count = 1;
        int i = 0;
        foreach (var d in shapeElement.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt32(out shape[i]) || shape[i] < 0) throw Bad("shape has a dimension that is not a non-negative integer.");
            count *= shape[i++];
            if (count > int.MaxValue) throw Bad("shape is too large.");
        }
        if (!value.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2)
            throw Bad("data_offsets is not a [begin, end] pair.");
        var pair = offsets.EnumerateArray().ToArray();
        if (!pair[0].TryGetInt64(out long begin) || !pair[1].TryGetInt64(out long end) || begin < 0 || end < begin)
            throw Bad("data_offsets are not increasing non-negative integers.");
        if (end - begin != elementSize * count) throw Bad($"shape [{string.Join(", ", shape)}] of {type} needs {elementSize * count} bytes but data_offsets span {end - begin}.");
        return (name, type, shape, begin, end);
    }
}
