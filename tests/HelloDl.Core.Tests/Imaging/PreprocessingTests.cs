using HelloDl.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace HelloDl.Tests.Imaging;

public sealed class PreprocessingTests : IDisposable
{
    readonly TempFolder _temp = new();
    public void Dispose() => _temp.Dispose();

    static GrayImage Digit(int index) => MnistData.Test.GetSample(index).Image;

    [Theory]
    [InlineData(1, 0)]
    [InlineData(1000, 980)]
    [InlineData(1000, 999)]
    [InlineData(5000, 0)]
    public void Value_at_rank_is_what_a_full_sort_puts_there(int count, int rank)
    {
        var random = new Random(count + rank);
        // Many equal values and values crowded into one bin, as a crop's saturated ink is.
        var values = Enumerable.Range(0, count).Select(i => i % 7 == 0 ? 1f : i % 5 == 0 ? 0.5f + random.NextSingle() * 1e-4f : random.NextSingle()).ToArray();
        var sorted = values.Order().ToArray();
        Assert.Equal(sorted[rank], MnistPreprocessor.ValueAtRank(values, rank));
    }

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

    [Fact]
    public void Every_pixel_gets_its_luma_over_white_exactly_whatever_its_place_in_a_row()
    {
        // 37 columns: four runs of eight and a tail of five, each pixel its own colour and alpha.
        var random = new Random(7);
        var expected = new float[37 * 9];
        using (var image = new Image<Rgba32>(37, 9))
        {
            for (int y = 0; y < 9; y++)
                for (int x = 0; x < 37; x++)
                {
                    var p = new Rgba32((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256));
                    image[x, y] = p;
                    float luma = (0.299f * p.R + 0.587f * p.G + 0.114f * p.B) / 255f, alpha = p.A / 255f;
                    expected[y * 37 + x] = alpha * luma + (1 - alpha);
                }
            image.SaveAsPng(_temp.File("colours.png"));
        }
        Assert.Equal(expected, ImageReader.Read(_temp.File("colours.png")).Pixels);
    }

    /// <summary>The digit's ink cut to its bounding box, as brightness (dark ink on white, or light on black).</summary>
    static LuminanceImage TightCrop(GrayImage digit, bool lightOnDark = false)
    {
        int left = 28, right = -1, top = 28, bottom = -1;
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++)
                if (digit[y, x] > 0) { left = Math.Min(left, x); right = Math.Max(right, x); top = Math.Min(top, y); bottom = Math.Max(bottom, y); }
        int width = right - left + 1, height = bottom - top + 1;
        var pixels = new float[width * height];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                float ink = digit[top + y, left + x] / 255f;
                pixels[y * width + x] = lightOnDark ? ink : 1 - ink;
            }
        return new LuminanceImage(width, height, pixels);
    }

    /// <summary>Block-averaged down to <paramref name="side"/> x <paramref name="side"/> with 17 grey levels, as the old 8x8 digit sets are.</summary>
    static LuminanceImage Blocky(LuminanceImage image, int side)
    {
        var pixels = new float[side * side];
        for (int y = 0; y < side; y++)
            for (int x = 0; x < side; x++)
            {
                float sum = 0; int count = 0;
                for (int sy = y * image.Height / side; sy < Math.Max((y + 1) * image.Height / side, y * image.Height / side + 1); sy++)
                    for (int sx = x * image.Width / side; sx < Math.Max((x + 1) * image.Width / side, x * image.Width / side + 1); sx++) { sum += image.Pixels[sy * image.Width + sx]; count++; }
                pixels[y * side + x] = MathF.Round(sum / count * 16) / 16;
            }
        return new LuminanceImage(side, side, pixels);
    }

    static double Correlation(GrayImage a, GrayImage b)
    {
        double ma = a.Pixels.Average(p => (double)p), mb = b.Pixels.Average(p => (double)p), ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.Pixels.Length; i++) { ab += (a.Pixels[i] - ma) * (b.Pixels[i] - mb); aa += (a.Pixels[i] - ma) * (a.Pixels[i] - ma); bb += (b.Pixels[i] - mb) * (b.Pixels[i] - mb); }
        return ab / Math.Sqrt(aa * bb);
    }

    /// <summary>2 x area / perimeter of the pixels over half ink: a long stroke's width.</summary>
    static double StrokeWidth(GrayImage image)
    {
        int area = 0, perimeter = 0;
        bool Inked(int x, int y) => x is >= 0 and < 28 && y is >= 0 and < 28 && image[y, x] > 127;
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++)
                if (Inked(x, y)) { area++; perimeter += (Inked(x - 1, y) ? 0 : 1) + (Inked(x + 1, y) ? 0 : 1) + (Inked(x, y - 1) ? 0 : 1) + (Inked(x, y + 1) ? 0 : 1); }
        return 2.0 * area / perimeter;
    }

    [Fact]
    public void No_mnist_test_digit_on_paper_is_blank_not_even_a_one_that_looks_like_a_ruled_line()
    {
        // 181 of the 10,000 (thin upright 1s) were taken for ruled lines and dropped.
        var blank = Enumerable.Range(0, MnistData.Test.Count).Where(i => MnistPreprocessor.ToMnist(LuminanceImage.FromInk(Digit(i))) is null).ToList();
        Assert.True(blank.Count == 0, $"{blank.Count} blank, e.g. {string.Join(", ", blank.Take(5))}");
    }

    [Fact]
    public void A_digit_cut_tightly_to_its_ink_is_never_blank_either_way_up()
    {
        var correlations = new List<double>();
        for (int i = 0; i < 100; i++)
            foreach (bool lightOnDark in new[] { false, true })
            {
                var back = MnistPreprocessor.ToMnist(TightCrop(Digit(i), lightOnDark));
                Assert.True(back is not null, $"digit {i}{(lightOnDark ? " light on dark" : "")} came out blank");
                correlations.Add(Correlation(Digit(i), back));
            }
        // A crop this small is enlarged and its ink's contrast restored, so it is not the digit
        // pixel for pixel; a CNN reads 3,000 such crops as well as the digits (99.1%).
        Assert.True(correlations.Average() > 0.8 && correlations.Min() > 0.5, $"correlation mean {correlations.Average():F2}, least {correlations.Min():F2}");
    }

    [Fact]
    public void Tiny_blocky_digits_of_8x8_and_16x16_pixels_are_read_as_their_digit()
    {
        foreach (int side in new[] { 8, 16 })
        {
            var correlations = Enumerable.Range(0, 100).Select(i =>
            {
                var back = MnistPreprocessor.ToMnist(Blocky(TightCrop(Digit(i)), side));
                Assert.True(back is not null, $"digit {i} at {side}x{side} came out blank");
                return Correlation(Digit(i), back);
            }).ToList();
            Assert.True(correlations.Average() > 0.65, $"{side}x{side}: mean correlation {correlations.Average():F2}");
        }
    }

    [Fact]
    public void Marker_thick_strokes_are_thinned_and_hairlines_thickened_into_mnist_range()
    {
        var widths = new List<double>();
        for (int i = 0; i < 20; i++)
        {
            var digit = Digit(i);
            // Drawn large with a marker: strokes of 70 of 280 pixels, about 5 in MNIST's frame.
            var page = new float[280 * 280];
            for (int y = 0; y < 280; y++)
                for (int x = 0; x < 280; x++)
                {
                    bool ink = false;
                    for (int dy = -3; dy <= 3 && !ink; dy++)
                        for (int dx = -3; dx <= 3 && !ink; dx++)
                            ink = digit[Math.Clamp(y / 10 + dy, 0, 27), Math.Clamp(x / 10 + dx, 0, 27)] > 127;
                    page[y * 280 + x] = ink ? 0.1f : 0.95f;
                }
            var thick = MnistPreprocessor.ToMnist(new LuminanceImage(280, 280, page))!;
            widths.Add(StrokeWidth(thick));
        }
        // As drawn they measure 6.2 on average; thinned, 3.4 (MNIST: 1.9). Where thick strokes close
        // a loop the width measure overshoots, so the mean is what is held.
        Assert.True(widths.Average() is > 1.5 and < 4, $"mean stroke width {widths.Average():F2}: {string.Join(" ", widths.Select(w => w.ToString("F1")))}");
        // A one-pixel pen line on a large page.
        var hairline = Enumerable.Repeat(0.95f, 300 * 300).ToArray();
        for (int y = 40; y < 260; y++) hairline[y * 300 + 150] = 0.1f;
        for (int x = 100; x < 151; x++) hairline[(40 + (150 - x)) * 300 + x] = 0.1f;
        double hairlineWidth = StrokeWidth(MnistPreprocessor.ToMnist(new LuminanceImage(300, 300, hairline))!);
        Assert.True(hairlineWidth is > 1.2 and < 3.0, $"hairline: stroke width {hairlineWidth:F2}");
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
        var read = CharacterFiles.Read(paths);
        Assert.Equal(paths, read.Select(r => r.Path));
        for (int i = 0; i < 10; i++)
        {
            if (i is 3 or 7) Assert.True(read[i].Image is null && read[i].Error is not null, $"file {i}");
            else Assert.Equal(MnistPreprocessor.ToMnist(ImageReader.Read(paths[i]))!.Pixels, read[i].Image!.Pixels);   // as read one by one
        }
        Assert.Equal(ImageErrorIds.NotAnImage, Assert.IsType<ImageReadException>(read[3].Error).ErrorId);
    }

    /// <summary>A scan-like page, a dark board with light chalk, and a digit cropped to its ink (which takes the margin path), as files.</summary>
    List<string> PagesOfEveryKind()
    {
        // Large pages before small ones: in a batch, smaller pages then get pooled arrays longer
        // than themselves that still hold a larger page's pixels and ink.
        var random = new Random(5);
        var paths = new List<string>();
        (int Width, int Height)[] sizes = [(600, 520), (130, 120), (420, 260), (200, 600), (150, 140)];
        for (int i = 0; i < sizes.Length; i++)
        {
            paths.Add(_temp.File($"page-{i}.{(i % 2 == 0 ? "png" : "jpg")}"));
            ScanSimulator.WriteSingleCharacter(Digit(i), random, paths[^1], pageSize: sizes[i]);
        }
        using (var board = ScanSimulator.SingleCharacter(Digit(5), random, (300, 240)))
        {
            board.Mutate(x => x.Invert());
            paths.Add(_temp.File("board.png"));
            board.SaveAsPng(paths[^1]);
        }
        var crop = TightCrop(Digit(8));
        using (var cropped = new Image<L8>(crop.Width, crop.Height))
        {
            for (int y = 0; y < crop.Height; y++)
                for (int x = 0; x < crop.Width; x++) cropped[x, y] = new L8((byte)MathF.Round(crop.Pixels[y * crop.Width + x] * 255));
            cropped.Mutate(x => x.Resize(crop.Width * 4, crop.Height * 4));
            paths.Add(_temp.File("cropped.png"));
            cropped.SaveAsPng(paths[^1]);
        }
        return paths;
    }

    [Fact]
    public void Ink_is_found_from_the_image_alone_when_its_pooled_array_runs_on()
    {
        foreach (string path in PagesOfEveryKind())
        {
            var image = ImageReader.Read(path);
            // Twenty times the image again, mid grey: enough to move any quantile taken over the whole array.
            var longer = Enumerable.Repeat(0.5f, image.Pixels.Length * 21).ToArray();
            image.Pixels.CopyTo(longer, 0);
            var alone = InkFinder.Find(image);
            var pooled = InkFinder.Find(new LuminanceImage(image.Width, image.Height, longer, pooled: true), pooled: true);
            Assert.Equal(alone.Components, pooled.Components);
            Assert.Equal(alone.Ink, pooled.Ink.AsSpan(0, image.Width * image.Height).ToArray());
            pooled.Release();
        }
    }

    [Fact]
    public void Pages_read_in_a_batch_from_pooled_arrays_match_pages_read_alone()
    {
        var paths = PagesOfEveryKind();
        var alone = paths.Select(path => MnistPreprocessor.ToMnist(ImageReader.Read(path))).ToList();
        Assert.All(alone, Assert.NotNull);
        for (int round = 0; round < 2; round++)
        {
            var batch = CharacterFiles.Read(paths);
            for (int i = 0; i < paths.Count; i++) Assert.Equal(alone[i]!.Pixels, batch[i].Image!.Pixels);
        }
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
        Assert.Equal(ImageErrorIds.Truncated, error.ErrorId);
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
