using System.IO.Compression;
using HelloDl.Data;

namespace HelloDl.Tests.Data;

public sealed class EmnistLoaderTests : IDisposable
{
    readonly TempFolder _temp = new();
    public void Dispose() => _temp.Dispose();

    void WriteMnistPair(string prefix, int count, byte[]? labels = null)
    {
        File.WriteAllBytes(_temp.File($"{prefix}-images-idx3-ubyte"), IdxBytes.Images(count, 4, 5, IdxBytes.Asymmetric));
        File.WriteAllBytes(_temp.File($"{prefix}-labels-idx1-ubyte"), IdxBytes.Labels(labels ?? Enumerable.Range(0, count).Select(i => (byte)(i % 10)).ToArray()));
    }

    [Fact]
    public void Reads_raw_mnist_from_a_folder_without_transposing()
    {
        WriteMnistPair("train", 3);
        var set = EmnistLoader.Load(_temp.Path);

        Assert.Equal(("mnist-train", DatasetVariant.Mnist, DatasetSplit.Train), (set.Name, set.Variant, set.Split));
        Assert.Equal((3, 4, 5), (set.Count, set.Rows, set.Columns));
        Assert.Equal(IdxBytes.Asymmetric(1, 2, 3), set.GetPixels(1)[2 * 5 + 3]);
        Assert.Equal([0, 1, 2], Enumerable.Range(0, 3).Select(set.GetLabel));
        Assert.Equal(1, set.ClassCounts["2"]);
        Assert.Equal(0, set.ClassCounts["9"]);
    }

    [Fact]
    public void Split_comes_from_the_file_name_or_the_parameter()
    {
        WriteMnistPair("train", 3);
        WriteMnistPair("t10k", 2);
        Assert.Equal(3, EmnistLoader.Load(_temp.Path).Count);
        Assert.Equal(2, EmnistLoader.Load(_temp.Path, split: DatasetSplit.Test).Count);
        var test = EmnistLoader.Load(_temp.File("t10k-images-idx3-ubyte"));
        Assert.Equal((DatasetSplit.Test, 2), (test.Split, test.Count));
    }

    [Fact]
    public void Reads_gzipped_files_found_by_content()
    {
        File.WriteAllBytes(_temp.File("emnist-digits-test-images-idx3-ubyte.gz"), IdxBytes.Gzip(IdxBytes.Images(2, 3, 3, IdxBytes.Asymmetric)));
        File.WriteAllBytes(_temp.File("emnist-digits-test-labels-idx1-ubyte.gz"), IdxBytes.Gzip(IdxBytes.Labels(7, 3)));
        var set = EmnistLoader.Load(_temp.File("emnist-digits-test-images-idx3-ubyte.gz"));
        Assert.Equal(("emnist-digits-test", DatasetVariant.Digits, DatasetSplit.Test), (set.Name, set.Variant, set.Split));
        Assert.Equal("7", set.ClassNames[set.GetLabel(0)]);
    }

    [Fact]
    public void Emnist_images_are_transposed_to_mnist_orientation()
    {
        // File row r, column c holds the upright pixel at row c, column r.
        File.WriteAllBytes(_temp.File("emnist-letters-train-images-idx3-ubyte"), IdxBytes.Images(1, 4, 6, IdxBytes.Asymmetric));
        File.WriteAllBytes(_temp.File("emnist-letters-train-labels-idx1-ubyte"), IdxBytes.Labels(1));
        var set = EmnistLoader.Load(_temp.Path);
        Assert.Equal((6, 4), (set.Rows, set.Columns));
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < 6; c++)
                Assert.Equal(IdxBytes.Asymmetric(0, r, c), set.GetPixels(0)[c * 4 + r]);
    }

    [Fact]
    public void A_dataset_written_in_emnist_layout_imports_back_unchanged()
    {
        WriteMnistPair("train", 5);
        var mnist = EmnistLoader.Load(_temp.Path);
        using var other = new TempFolder();
        var written = IdxWriter.WriteFolder(mnist, other.File("digits"), DatasetVariant.Digits, compress: true);
        Assert.Equal(["emnist-digits-train-images-idx3-ubyte.gz", "emnist-digits-train-labels-idx1-ubyte.gz", "emnist-digits-mapping.txt"],
            written.Select(Path.GetFileName));
        var back = EmnistLoader.Load(other.File("digits"));
        Assert.Equal(DatasetVariant.Digits, back.Variant);
        Assert.Equal((mnist.Rows, mnist.Columns), (back.Rows, back.Columns));
        for (int i = 0; i < mnist.Count; i++)
        {
            Assert.True(mnist.GetPixels(i).SequenceEqual(back.GetPixels(i)), $"image {i} differs");
            Assert.Equal(mnist.GetLabel(i), back.GetLabel(i));
        }
    }

    [Fact]
    public void A_test_split_written_as_mnist_gets_mnists_t10k_names_and_imports_as_the_test_split()
    {
        var test = MnistData.Test.Select(Enumerable.Range(0, 7).ToArray());
        var written = IdxWriter.WriteFolder(test, _temp.Path, DatasetVariant.Mnist);
        Assert.Equal(["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"], written.Select(Path.GetFileName));
        var back = EmnistLoader.Load(_temp.Path, split: DatasetSplit.Test);
        Assert.Equal((DatasetVariant.Mnist, DatasetSplit.Test, 7), (back.Variant, back.Split, back.Count));
        Assert.Equal(Enumerable.Range(0, 7).Select(test.GetLabel), Enumerable.Range(0, 7).Select(back.GetLabel));
    }

    [Fact]
    public void Letters_labels_one_to_26_are_a_to_z()
    {
        File.WriteAllBytes(_temp.File("emnist-letters-test-images-idx3-ubyte"), IdxBytes.Images(3, 2, 2, IdxBytes.Asymmetric));
        File.WriteAllBytes(_temp.File("emnist-letters-test-labels-idx1-ubyte"), IdxBytes.Labels(1, 26, 2));
        var set = EmnistLoader.Load(_temp.Path);
        Assert.Equal(26, set.ClassNames.Count);
        Assert.Equal(["a", "z", "b"], Enumerable.Range(0, 3).Select(i => set.ClassNames[set.GetLabel(i)]));
    }

    [Fact]
    public void Reads_nist_gzip_zip_in_place_with_its_mapping_file()
    {
        string zipPath = _temp.File("gzip.zip");
        using (var zip = ZipFile.Open(zipPath, ZipArchiveMode.Create))
        {
            AddEntry(zip, "gzip/emnist-balanced-train-images-idx3-ubyte.gz", IdxBytes.Gzip(IdxBytes.Images(2, 3, 3, IdxBytes.Asymmetric)));
            AddEntry(zip, "gzip/emnist-balanced-train-labels-idx1-ubyte.gz", IdxBytes.Gzip(IdxBytes.Labels(0, 2)));
            AddEntry(zip, "gzip/emnist-balanced-mapping.txt", "0 48\n1 65\n2 97\n"u8.ToArray());
            AddEntry(zip, "gzip/emnist-letters-train-images-idx3-ubyte.gz", IdxBytes.Gzip(IdxBytes.Images(1, 3, 3, IdxBytes.Asymmetric)));
        }
        var set = EmnistLoader.Load(zipPath, DatasetVariant.Balanced);
        Assert.Equal(["0", "A", "a"], set.ClassNames);
        Assert.Equal("a", set.ClassNames[set.GetLabel(1)]);
        Assert.EndsWith("gzip.zip!gzip/emnist-balanced-train-images-idx3-ubyte.gz", set.Source);

        var ambiguous = Assert.Throws<DatasetFormatException>(() => EmnistLoader.Load(zipPath));
        Assert.Equal(DatasetErrorIds.AmbiguousVariant, ambiguous.ErrorId);
    }

    [Theory]
    [InlineData(DatasetVariant.Balanced, 47, "t")]
    [InlineData(DatasetVariant.ByMerge, 47, "t")]
    [InlineData(DatasetVariant.ByClass, 62, "z")]
    [InlineData(DatasetVariant.Digits, 10, "9")]
    public void Built_in_tables_match_nist(DatasetVariant variant, int classes, string last)
    {
        var names = ClassTables.BuiltIn(variant);
        Assert.Equal(classes, names.Length);
        Assert.Equal(last, names[^1]);
        Assert.Equal("A", variant == DatasetVariant.Digits ? "A" : names[10]);
    }

    static void AddEntry(ZipArchive zip, string name, byte[] data)
    {
        using var stream = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
        stream.Write(data);
    }
}
