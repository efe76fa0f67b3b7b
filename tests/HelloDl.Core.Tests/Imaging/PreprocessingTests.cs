using HelloDl.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace HelloDl.Tests.Imaging;

public sealed class PreprocessingTests : IDisposable
{
    readonly TempFolder _temp = new();
    public void Dispose() => _temp.Dispose();

    static GrayImage Digit(int index) => MnistData.Test.GetSample(index).Image;

    [Fact]
    public void An_mnist_digit_as_dark_ink_on_paper_comes_back_unchanged()
    {
        for (int i = 0; i < 20; i++)
        {
            var original = Digit(i);
            var back = MnistPreprocessor.ToMnist(LuminanceImage.FromInk(original))!;
            int differing = original.Pixels.Zip(back.Pixels).Count(p => Math.Abs(p.First - p.Second) > 40);
            Assert.True(differing <= 8, $"digit {i}: {differing} pixels differ");
        }
    }

    [Fact]
    public void A_simulated_scan_of_a_fixed_page_size_keeps_its_size_and_its_digit()
    {
        var random = new Random(2);
        for (int i = 0; i < 5; i++)
        {
            using var page = ScanSimulator.SingleCharacter(Digit(i), random, (600, 400));
            Assert.Equal((600, 400), (page.Width, page.Height));
            string path = Path.Combine(_temp.Path, $"fixed-{i}.png");
            ScanSimulator.Save(page, path);
            var found = MnistPreprocessor.ToMnist(ImageReader.Read(path));
            Assert.NotNull(found);
        }
    }

    [Fact]
    public void Light_ink_on_a_dark_board_is_read_the_same_way()
    {
        var original = Digit(3);
        var board = new LuminanceImage(28, 28, original.Pixels.Select(p => 0.1f + 0.8f * p / 255f).ToArray());
        var back = MnistPreprocessor.ToMnist(board)!;
        Assert.True(original.Pixels.Zip(back.Pixels).Count(p => Math.Abs(p.First - p.Second) > 60) <= 8);
    }

    [Fact]
    public void A_small_digit_anywhere_in_a_large_canvas_is_cropped_scaled_and_centred()
    {
        var original = Digit(0);
        var canvas = Enumerable.Repeat(1f, 300 * 200).ToArray();
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++)
                canvas[(150 + y) * 300 + 20 + x] = 1 - original[y, x] / 255f;
        var back = MnistPreprocessor.ToMnist(new LuminanceImage(300, 200, canvas))!;
        Assert.True(original.Pixels.Zip(back.Pixels).Count(p => Math.Abs(p.First - p.Second) > 40) <= 8);
    }

    [Fact]
    public void An_image_without_ink_is_blank()
    {
        Assert.Null(MnistPreprocessor.ToMnist(new LuminanceImage(50, 40, Enumerable.Repeat(0.93f, 2000).ToArray())));
        var noise = new Random(1);
        Assert.Null(MnistPreprocessor.ToMnist(new LuminanceImage(50, 40, Enumerable.Range(0, 2000).Select(_ => 0.9f + 0.05f * noise.NextSingle()).ToArray())));
    }

    [Fact]
    public void Png_with_alpha_is_laid_on_white()
    {
        var original = Digit(1);
        using (var image = new Image<Rgba32>(28, 28))
        {
            for (int y = 0; y < 28; y++)
                for (int x = 0; x < 28; x++)
                    image[x, y] = new Rgba32(0, 0, 0, original[y, x]);   // black ink, transparent paper
            image.SaveAsPng(_temp.File("alpha.png"));
        }
        var back = MnistPreprocessor.ToMnist(ImageReader.Read(_temp.File("alpha.png")))!;
        Assert.True(original.Pixels.Zip(back.Pixels).Count(p => Math.Abs(p.First - p.Second) > 40) <= 8);
    }

    ImageReadException ReadFails(string expectedId, string name, byte[] content)
    {
        File.WriteAllBytes(_temp.File(name), content);
        var error = Assert.Throws<ImageReadException>(() => ImageReader.Read(_temp.File(name)));
        Assert.Equal(expectedId, error.ErrorId);
        Assert.Contains(name, error.Message);
        return error;
    }

    [Fact]
    public void A_batch_of_files_is_read_in_order_with_each_bad_file_reported()
    {
        var paths = new List<string>();
        for (int i = 0; i < 10; i++)
        {
            string path = Path.Combine(_temp.Path, $"batch-{i}.png");
            if (i == 3) File.WriteAllText(path, "not an image");
            else if (i != 7) Pictures.SaveImage(Digit(i), path);
            paths.Add(path);   // batch-7.png is never written
        }
        var read = HelloDl.Inference.ImageFileBatch.Read(paths);
        Assert.Equal(paths, read.Select(r => r.Path));
        for (int i = 0; i < 10; i++)
        {
            if (i is 3 or 7) Assert.True(read[i].Input is null && read[i].Error is not null, $"file {i}");
            else Assert.Equal(MnistPreprocessor.ToMnist(ImageReader.Read(paths[i]))!.Pixels, read[i].Input!.Image!.Pixels);   // as read one by one
        }
        Assert.Equal(ImageErrorIds.NotAnImage, Assert.IsType<ImageReadException>(read[3].Error).ErrorId);
    }

    [Fact] public void Empty_file() => ReadFails(ImageErrorIds.Empty, "empty.png", []);
    [Fact] public void Text_named_png() => ReadFails(ImageErrorIds.NotAnImage, "text.png", "hello, not an image"u8.ToArray());

    [Fact]
    public void Truncated_png()
    {
        using var image = new Image<L8>(64, 64);
        using var buffer = new MemoryStream();
        image.SaveAsPng(buffer);
        var bytes = buffer.ToArray();
        var error = Assert.Throws<ImageReadException>(() => ImageReader.Decode(bytes[..(bytes.Length / 2)], "cut.png"));
        Assert.Contains(error.ErrorId, new[] { ImageErrorIds.Corrupt, ImageErrorIds.NotAnImage });
    }

    [Fact]
    public void A_header_claiming_enormous_dimensions_is_refused_before_decoding()
    {
        // A BMP header for 60,000 x 60,000 pixels with no pixel data.
        var bmp = new byte[54];
        "BM"u8.CopyTo(bmp);
        BitConverter.TryWriteBytes(bmp.AsSpan(2), 54);
        BitConverter.TryWriteBytes(bmp.AsSpan(10), 54);
        BitConverter.TryWriteBytes(bmp.AsSpan(14), 40);
        BitConverter.TryWriteBytes(bmp.AsSpan(18), 60_000);
        BitConverter.TryWriteBytes(bmp.AsSpan(22), 60_000);
        BitConverter.TryWriteBytes(bmp.AsSpan(26), (short)1);
        BitConverter.TryWriteBytes(bmp.AsSpan(28), (short)24);
        long before = GC.GetTotalAllocatedBytes(precise: true);
        ReadFails(ImageErrorIds.TooLarge, "huge.bmp", bmp);
        Assert.True(GC.GetTotalAllocatedBytes(precise: true) - before < 50 << 20);
    }
}
