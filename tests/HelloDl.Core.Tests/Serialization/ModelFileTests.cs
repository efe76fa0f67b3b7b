using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;
using HelloDl.Nn;
using HelloDl.Serialization;
using HelloDl.Tensors;

namespace HelloDl.Tests.Serialization;

public sealed class ModelFileTests : IDisposable
{
    static readonly string[] Digits = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
    readonly TempFolder _temp = new();
    public void Dispose() => _temp.Dispose();

    /// <summary>The model's probabilities for three fixed inputs: equal for two models exactly when they predict alike here.</summary>
    internal static float[] Predict(Model model)
    {
        var input = Tensor.FromArray(Enumerable.Range(0, 3 * 784).Select(i => (i * 37 % 101) / 50f - 1).ToArray(), 3, 1, 28, 28);
        var probabilities = new float[3 * model.ClassNames.Count];
        model.PredictProbabilities(input, probabilities);
        return probabilities;
    }

    [Theory]
    [InlineData(Architecture.Linear)]
    [InlineData(Architecture.Mlp)]
    [InlineData(Architecture.Cnn)]
    public void Round_trip_is_bit_exact(Architecture architecture)
    {
        var model = Model.Create(architecture, Digits, seed: 9);
        model.Temperature = 1.7f;
        model.TrainingSummary = "unit test";
        string path = _temp.File("model.safetensors");
        ModelFile.Save(model, path);
        var loaded = ModelFile.Load(path);
        Assert.Equal(model.Values, loaded.Values);
        Assert.Equal(Predict(model), Predict(loaded));
        Assert.Equal((architecture, 1.7f, "unit test"), (loaded.Architecture, loaded.Temperature, loaded.TrainingSummary));
        Assert.Equal(Digits, loaded.ClassNames);
        Assert.Single(Directory.GetFiles(_temp.Path));   // no temporary file left behind
    }

    [Fact]
    public void The_file_is_standard_safetensors()
    {
        var model = Model.Create(Architecture.Mlp, Digits);
        string path = _temp.File("m.safetensors");
        ModelFile.Save(model, path);
        var bytes = File.ReadAllBytes(path);
        long headerLength = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0, (8 + headerLength) % 8);
        string header = Encoding.UTF8.GetString(bytes, 8, (int)headerLength);
        Assert.Contains("\"fc1.weight\":{\"dtype\":\"F32\",\"shape\":[128,784],\"data_offsets\":[0,401408]}", header);
        Assert.Contains("\"format_version\":\"2\"", header);
        Assert.Equal(8 + headerLength + 4L * model.ParameterCount, bytes.Length);
        Assert.Equal(model.Values[0], BitConverter.ToSingle(bytes, (int)(8 + headerLength)));
    }

    ModelFileException LoadFails(string expectedId, Func<byte[], byte[]> tamper)
    {
        string path = _temp.File("bad.safetensors");
        ModelFile.Save(Model.Create(Architecture.Mlp, Digits), path);
        File.WriteAllBytes(path, tamper(File.ReadAllBytes(path)));
        var error = Assert.Throws<ModelFileException>(() => ModelFile.Load(path));
        Assert.Equal(expectedId, error.ErrorId);
        Assert.Contains("bad.safetensors", error.Message);
        return error;
    }

    /// <summary>
    /// The header edited, as in a file of format version 1, written before checksums: without
    /// one, which would refuse any edit before the check under test is reached.
    /// </summary>
    static byte[] EditHeader(byte[] bytes, Func<string, string> edit)
    {
        long length = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        string header = edit(Regex.Replace(Encoding.UTF8.GetString(bytes, 8, (int)length), "\"checksum_sha256\":\"[0-9a-f]{64}\",?", "")
            .Replace("\"format_version\":\"2\"", "\"format_version\":\"1\""));
        var newHeader = Encoding.UTF8.GetBytes(header);
        var result = new byte[8 + newHeader.Length + bytes.Length - 8 - length];
        BinaryPrimitives.WriteUInt64LittleEndian(result, (ulong)newHeader.Length);
        newHeader.CopyTo(result, 8);
        bytes.AsSpan((int)(8 + length)).CopyTo(result.AsSpan(8 + newHeader.Length));
        return result;
    }

    [Fact] public void Truncated_data() => LoadFails(ModelFileErrorIds.Truncated, b => b[..^100]);
    [Fact] public void Truncated_header() => LoadFails(ModelFileErrorIds.Truncated, b => b[..200]);
    [Fact] public void Too_short_for_a_header() => LoadFails(ModelFileErrorIds.Truncated, b => b[..5]);
    [Fact] public void Huge_header_length() => LoadFails(ModelFileErrorIds.NotSafetensors, b => { BinaryPrimitives.WriteUInt64LittleEndian(b, ulong.MaxValue / 2); return b; });
    [Fact] public void Header_not_json() => LoadFails(ModelFileErrorIds.BadHeader, b => EditHeader(b, h => "{not json" + h[9..]));
    [Fact] public void Newer_format_version() => Assert.Contains("newer HelloDl", LoadFails(ModelFileErrorIds.NewerVersion, b => EditHeader(b, h => h.Replace("\"format_version\":\"1\"", "\"format_version\":\"9\""))).Message);
    [Fact] public void Other_dtype() => LoadFails(ModelFileErrorIds.BadTensor, b => EditHeader(b, h => h.Replace("\"fc2.bias\":{\"dtype\":\"F32\"", "\"fc2.bias\":{\"dtype\":\"F16\"")));
    [Fact] public void Shape_that_does_not_fit_the_offsets() => LoadFails(ModelFileErrorIds.BadTensor, b => EditHeader(b, h => h.Replace("[128,784]", "[128,785]")));
    [Fact] public void Overlapping_offsets() => LoadFails(ModelFileErrorIds.BadTensor, b => EditHeader(b, h => h.Replace("\"data_offsets\":[401408,401920]", "\"data_offsets\":[401404,401916]")));
    [Fact] public void Not_a_hellodl_file() => LoadFails(ModelFileErrorIds.BadHeader, b => EditHeader(b, h => h.Replace("hellodl.model", "someone.else")));
    [Fact] public void Shape_that_does_not_fit_the_architecture() =>
        LoadFails(ModelFileErrorIds.WrongShape, b => EditHeader(b, h => h.Replace("[128,784]", "[784,128]")));
    [Fact] public void Class_names_that_do_not_fit_the_weights() =>
        LoadFails(ModelFileErrorIds.WrongShape, b => EditHeader(b, h => h.Replace("[\\u00220\\u0022,", "[\\u0022x\\u0022,\\u0022y\\u0022,").Replace("[\"0\",", "[\"x\",\"y\",")));

    [Fact]
    public void Nan_weights()
    {
        LoadFails(ModelFileErrorIds.BadTensor, b =>
        {
            b = EditHeader(b, h => h);
            long length = (long)BinaryPrimitives.ReadUInt64LittleEndian(b);
            BitConverter.TryWriteBytes(b.AsSpan((int)(8 + length)), float.NaN);
            return b;
        });
    }

    [Fact]
    public void A_model_file_is_not_a_checkpoint()
    {
        string path = _temp.File("m.safetensors");
        ModelFile.Save(Model.Create(Architecture.Mlp, Digits), path);
        Assert.Equal(ModelFileErrorIds.NotACheckpoint, Assert.Throws<ModelFileException>(() => ModelFile.LoadCheckpoint(path)).ErrorId);
    }

    [Fact]
    public void Any_flipped_bit_in_a_file_with_a_checksum_is_refused_as_corrupt()
    {
        string path = _temp.File("m.safetensors");
        var model = Model.Create(Architecture.Mlp, Digits, seed: 3);
        ModelFile.Save(model, path);
        var original = File.ReadAllBytes(path);
        long headerLength = (long)BinaryPrimitives.ReadUInt64LittleEndian(original);
        string header = Encoding.UTF8.GetString(original, 8, (int)headerLength);
        // Every bit of the first and last tensor values, and one bit of each character of the
        // metadata values (where a flip keeps the JSON valid, as in a digit of the temperature).
        var positions = new List<(long Byte, int Bit)>();
        for (int bit = 0; bit < 32; bit++) { positions.Add((8 + headerLength + bit / 8, bit % 8)); positions.Add((original.Length - 4 + bit / 8, bit % 8)); }
        int temperature = header.IndexOf("\"temperature\":\"", StringComparison.Ordinal) + 15;
        for (int i = 0; i < 3; i++) positions.Add((8 + temperature + i, 0));
        foreach (var (at, bit) in positions)
        {
            var bytes = (byte[])original.Clone();
            bytes[at] ^= (byte)(1 << bit);
            File.WriteAllBytes(path, bytes);
            var error = Assert.Throws<ModelFileException>(() => ModelFile.Load(path));
            Assert.True(error.ErrorId is ModelFileErrorIds.Corrupt or ModelFileErrorIds.BadHeader, $"byte {at} bit {bit}: {error.ErrorId}");
        }
    }

    [Fact]
    public void A_file_without_a_checksum_loads_with_a_warning()
    {
        string path = _temp.File("old.safetensors");
        var model = Model.Create(Architecture.Linear, Digits, seed: 4);
        ModelFile.Save(model, path);
        File.WriteAllBytes(path, EditHeader(File.ReadAllBytes(path), h => h));
        var warnings = new List<string>();
        var loaded = ModelFile.Load(path, warnings.Add);
        Assert.Equal(model.Values, loaded.Values);
        Assert.Contains("old.safetensors", Assert.Single(warnings));
        Assert.Contains("no checksum", warnings[0]);
        ModelFile.Save(loaded, path);
        warnings.Clear();
        ModelFile.Load(path, warnings.Add);
        Assert.Empty(warnings);
    }

    [Fact]
    public void The_checksum_does_not_depend_on_the_order_of_tensors_or_metadata()
    {
        string path = _temp.File("m.safetensors");
        ModelFile.Save(Model.Create(Architecture.Cnn, Digits, seed: 5), path);
        var content = SafeTensors.Read(path);
        using (var file = File.Create(path))
            SafeTensors.Write(file, content.Tensors.Reverse().ToList(), content.Metadata.Reverse().ToDictionary());
        Assert.Equal(content.Metadata[ModelFile.ChecksumKey], ModelFile.Checksum(content.Tensors.Reverse(), content.Metadata));
        ModelFile.Load(path);
    }

    [Fact]
    public void A_version_2_file_without_its_checksum_is_corrupt()
    {
        var error = LoadFails(ModelFileErrorIds.Corrupt, b => EditHeader(b, h => h.Replace("\"format_version\":\"1\"", "\"format_version\":\"2\"")));
        Assert.Contains("has none", error.Message);
    }

    [Fact] public void Invalid_utf8_in_the_header() => LoadFails(ModelFileErrorIds.BadHeader, b => { b[40] = 0xC3; b[41] = 0x28; return b; });
    [Fact] public void A_name_twice_in_the_metadata() => LoadFails(ModelFileErrorIds.BadHeader, b => EditHeader(b, h => h.Replace("\"format\":", "\"format\":\"x\",\"format\":")));
    [Fact] public void A_tensor_twice() => LoadFails(ModelFileErrorIds.BadHeader, b => EditHeader(b, h => h.Replace("\"fc2.bias\":{", "\"fc2.bias\":{},\"fc2.bias\":{")));
    [Fact] public void Deep_nesting() => LoadFails(ModelFileErrorIds.BadHeader, b => EditHeader(b, h => h.Replace("\"shape\":[128,784]", "\"shape\":[[[[[128]]]],784]")));
}
