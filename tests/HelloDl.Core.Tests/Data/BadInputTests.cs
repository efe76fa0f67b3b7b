using HelloDl.Data;

namespace HelloDl.Tests.Data;

/// <summary>Every kind of broken input gets a stable error id and a message naming the file.</summary>
public sealed class BadInputTests : IDisposable
{
    readonly TempFolder _temp = new();
    public void Dispose() => _temp.Dispose();

    string Images => _temp.File("train-images-idx3-ubyte");
    string Labels => _temp.File("train-labels-idx1-ubyte");

    DatasetFormatException LoadFails(string expectedId, string? path = null, DatasetVariant? variant = null)
    {
        var error = Assert.Throws<DatasetFormatException>(() => EmnistLoader.Load(path ?? _temp.Path, variant));
        Assert.Equal(expectedId, error.ErrorId);
        Assert.Contains(Path.GetFileName(error.Path), error.Message);
        return error;
    }

    void WriteGoodLabels(int count) => File.WriteAllBytes(Labels, IdxBytes.Labels(new byte[count]));

    [Fact]
    public void Wrong_magic()
    {
        File.WriteAllBytes(Images, IdxBytes.Images(2, 2, 2, IdxBytes.Asymmetric, magic: 0x801));
        WriteGoodLabels(2);
        Assert.Contains("magic number 0x00000801", LoadFails(DatasetErrorIds.BadMagic).Message);
    }

    [Fact]
    public void Labels_file_given_where_images_expected_is_a_bad_magic()
    {
        File.WriteAllBytes(Images, "PNG?not idx at all"u8.ToArray());
        WriteGoodLabels(2);
        LoadFails(DatasetErrorIds.BadMagic);
    }

    [Fact]
    public void Dimensions_whose_product_overflows_are_too_large()
    {
        // 4,294,967,295 cubed wraps a 64-bit product to a small number.
        File.WriteAllBytes(Images, IdxBytes.Images(0, 0, 0, IdxBytes.Asymmetric)[..4].Concat(Enumerable.Repeat((byte)0xFF, 12)).ToArray());
        WriteGoodLabels(1);
        LoadFails(DatasetErrorIds.TooLarge);
    }

    [Fact]
    public void Truncated_images()
    {
        var bytes = IdxBytes.Images(3, 4, 4, IdxBytes.Asymmetric);
        File.WriteAllBytes(Images, bytes[..^10]);
        WriteGoodLabels(3);
        Assert.Contains("truncated", LoadFails(DatasetErrorIds.Truncated).Message);
    }

    [Fact]
    public void Truncated_inside_the_header()
    {
        File.WriteAllBytes(Images, IdxBytes.Images(1, 2, 2, IdxBytes.Asymmetric)[..9]);
        WriteGoodLabels(1);
        LoadFails(DatasetErrorIds.Truncated);
    }

    [Fact]
    public void Data_past_the_end()
    {
        File.WriteAllBytes(Images, [.. IdxBytes.Images(1, 2, 2, IdxBytes.Asymmetric), 1, 2, 3]);
        WriteGoodLabels(1);
        LoadFails(DatasetErrorIds.TrailingData);
    }

    [Fact]
    public void Image_and_label_counts_differ()
    {
        File.WriteAllBytes(Images, IdxBytes.Images(3, 2, 2, IdxBytes.Asymmetric));
        WriteGoodLabels(2);
        Assert.Contains("2 labels but", LoadFails(DatasetErrorIds.CountMismatch).Message);
    }

    [Fact]
    public void A_header_claiming_two_billion_images_is_refused_without_allocating_them()
    {
        File.WriteAllBytes(Images, IdxBytes.Images(1, 28, 28, IdxBytes.Asymmetric, claimedCount: 1L << 31));
        WriteGoodLabels(1);
        long before = GC.GetAllocatedBytesForCurrentThread();
        LoadFails(DatasetErrorIds.TooLarge);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20);
    }

    [Fact]
    public void A_gzipped_header_that_lies_costs_only_what_arrives()
    {
        // 2.7 million 28x28 images claimed (2.1 GB, just under the limit), 1 present: no 2 GB buffer.
        File.WriteAllBytes(Images + ".gz", IdxBytes.Gzip(IdxBytes.Images(1, 28, 28, IdxBytes.Asymmetric, claimedCount: 2_700_000)));
        WriteGoodLabels(1);
        long before = GC.GetAllocatedBytesForCurrentThread();
        LoadFails(DatasetErrorIds.Truncated, Images + ".gz");
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 100 << 20);
    }

    [Fact]
    public void Truncated_gzip_stream()
    {
        var gz = IdxBytes.Gzip(IdxBytes.Images(50, 28, 28, IdxBytes.Asymmetric));
        File.WriteAllBytes(Images + ".gz", gz[..(gz.Length / 2)]);
        WriteGoodLabels(50);
        var error = Assert.Throws<DatasetFormatException>(() => EmnistLoader.Load(Images + ".gz"));
        Assert.Contains(error.ErrorId, new[] { DatasetErrorIds.Truncated, DatasetErrorIds.CorruptCompression });
        Assert.Contains("train-images-idx3-ubyte.gz", error.Message);
    }

    [Fact]
    public void Corrupt_gzip_stream()
    {
        var gz = IdxBytes.Gzip(IdxBytes.Images(50, 28, 28, IdxBytes.Asymmetric));
        for (int i = 20; i < gz.Length - 8; i += 7) gz[i] ^= 0x5A;
        File.WriteAllBytes(Images + ".gz", gz);
        WriteGoodLabels(50);
        // Scrambled deflate data may decode to anything, a lying header included: any clean refusal will do.
        var error = Assert.Throws<DatasetFormatException>(() => EmnistLoader.Load(Images + ".gz"));
        Assert.Contains("train-images-idx3-ubyte.gz", error.Message);
    }

    [Theory]
    [InlineData(0, 28)]
    [InlineData(28, 0)]
    public void Zero_rows_or_columns(int rows, int columns)
    {
        File.WriteAllBytes(Images, IdxBytes.Images(2, rows, columns, IdxBytes.Asymmetric));
        WriteGoodLabels(2);
        LoadFails(DatasetErrorIds.EmptyDimension);
    }

    [Fact]
    public void Label_outside_the_class_table()
    {
        File.WriteAllBytes(Images, IdxBytes.Images(2, 2, 2, IdxBytes.Asymmetric));
        File.WriteAllBytes(Labels, IdxBytes.Labels(3, 10));
        Assert.Contains("label 10 of item 1", LoadFails(DatasetErrorIds.LabelOutOfRange).Message);
    }

    [Fact]
    public void Letters_label_zero_is_outside_the_table()
    {
        File.WriteAllBytes(_temp.File("emnist-letters-train-images-idx3-ubyte"), IdxBytes.Images(1, 2, 2, IdxBytes.Asymmetric));
        File.WriteAllBytes(_temp.File("emnist-letters-train-labels-idx1-ubyte"), IdxBytes.Labels(0));
        LoadFails(DatasetErrorIds.LabelOutOfRange);
    }

    [Fact]
    public void Missing_labels_file()
    {
        File.WriteAllBytes(Images, IdxBytes.Images(2, 2, 2, IdxBytes.Asymmetric));
        Assert.Contains("train-labels-idx1-ubyte", LoadFails(DatasetErrorIds.LabelsFileMissing, Images).Message);
    }

    [Fact]
    public void Folder_without_images()
    {
        File.WriteAllText(_temp.File("readme.txt"), "nothing here");
        LoadFails(DatasetErrorIds.ImagesFileMissing);
    }

    [Fact]
    public void Missing_path()
    {
        LoadFails(DatasetErrorIds.ImagesFileMissing, _temp.File("nope"));
    }

    [Theory]
    [InlineData("0 48\n2 65\n")]
    [InlineData("0 48\nzero A\n")]
    [InlineData("")]
    public void Bad_mapping_file(string mapping)
    {
        File.WriteAllBytes(_temp.File("emnist-balanced-train-images-idx3-ubyte"), IdxBytes.Images(1, 2, 2, IdxBytes.Asymmetric));
        File.WriteAllBytes(_temp.File("emnist-balanced-train-labels-idx1-ubyte"), IdxBytes.Labels(0));
        File.WriteAllText(_temp.File("emnist-balanced-mapping.txt"), mapping);
        LoadFails(DatasetErrorIds.BadMapping);
    }

    [Fact]
    public void Not_a_zip_despite_the_name_is_read_as_an_images_file()
    {
        File.WriteAllText(_temp.File("gzip.zip"), "PK but not really");
        LoadFails(DatasetErrorIds.BadMagic, _temp.File("gzip.zip"));
    }
}
