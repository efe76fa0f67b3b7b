using System.IO.Compression;
using HelloDl.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace HelloDl.Tests.Imaging;

/// <summary>HelloDl's own reading of common PNGs gives, float for float, what decoding them with ImageSharp gives.</summary>
public sealed class PngPixelsTests
{
    public static TheoryData<PngColorType, PngFilterMethod> Layouts()
    {
        var layouts = new TheoryData<PngColorType, PngFilterMethod>();
        foreach (var colorType in new[] { PngColorType.Grayscale, PngColorType.GrayscaleWithAlpha, PngColorType.Rgb, PngColorType.RgbWithAlpha })
            foreach (var filter in Enum.GetValues<PngFilterMethod>())
                layouts.Add(colorType, filter);
        return layouts;
    }

    /// <summary>61 x 41 (an odd width leaves RGB's last pixel to the byte-at-a-time tail): noise, where Paeth meets its ties, with smooth runs that make every filter worth choosing.</summary>
    static byte[] Encode(PngColorType colorType, PngFilterMethod filter)
    {
        var random = new Random(3);
        using var image = new Image<Rgba32>(61, 41);
        for (int y = 0; y < 41; y++)
            for (int x = 0; x < 61; x++)
                image[x, y] = (x + y) % 3 != 0
                    ? new Rgba32((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256))
                    : new Rgba32((byte)(7 * x), (byte)(11 * y), (byte)(x * y), (byte)(255 - 3 * x));
        // A gamma chunk, as many cameras write: neither reader applies it.
        image.Metadata.GetPngMetadata().Gamma = 0.45455f;
        using var buffer = new MemoryStream();
        image.SaveAsPng(buffer, new PngEncoder { ColorType = colorType, FilterMethod = filter, BitDepth = PngBitDepth.Bit8 });
        return buffer.ToArray();
    }

    [Theory, MemberData(nameof(Layouts))]
    public void A_png_reads_to_what_imagesharp_decodes_it_to(PngColorType colorType, PngFilterMethod filter)
    {
        var bytes = Encode(colorType, filter);
        Assert.Contains(ImageIntegrityTests.PngChunks(bytes), chunk => chunk.Type == "gAMA");
        using var decoded = Image.Load<Rgba32>(bytes);
        var expected = new float[decoded.Width * decoded.Height];
        for (int y = 0; y < decoded.Height; y++)
            for (int x = 0; x < decoded.Width; x++)
            {
                var p = decoded[x, y];
                float luma = (0.299f * p.R + 0.587f * p.G + 0.114f * p.B) / 255f, alpha = p.A / 255f;
                expected[y * decoded.Width + x] = alpha * luma + (1 - alpha);
            }
        var read = PngPixels.TryRead(bytes, "own.png", pooled: false);
        Assert.NotNull(read);
        Assert.Equal(expected, read.Pixels);
        Assert.Equal(expected, ImageReader.Decode(bytes, "own.png").Pixels);
    }

    [Theory]
    [InlineData("png-interlaced")]
    [InlineData("png-palette")]
    public void Other_pngs_are_left_to_imagesharp(string encoding)
    {
        var bytes = ImageIntegrityTests.Encode(encoding);
        Assert.Null(PngPixels.TryRead(bytes, "other.png", pooled: false));
        Assert.Equal((64, 48), (ImageReader.Decode(bytes, "other.png").Width, 48));
    }

    [Fact]
    public void A_row_with_an_unknown_filter_type_is_corrupt()
    {
        var png = Encode(PngColorType.Rgb, PngFilterMethod.None);
        var chunks = ImageIntegrityTests.PngChunks(png);
        using var inflated = new MemoryStream();
        using (var inflater = new ZLibStream(new MemoryStream(chunks.Where(c => c.Type == "IDAT").SelectMany(c => c.Data).ToArray()), CompressionMode.Decompress))
            inflater.CopyTo(inflated);
        var data = inflated.ToArray();
        data[5 * (1 + 61 * 3)] = 7;   // the sixth row's filter byte
        using var deflated = new MemoryStream();
        using (var deflater = new ZLibStream(deflated, CompressionLevel.Optimal, leaveOpen: true)) deflater.Write(data);
        using var rebuilt = new MemoryStream();
        rebuilt.Write(png, 0, 8);
        foreach (var (type, chunk) in chunks.Where(c => c.Type != "IDAT" || c == chunks.First(d => d.Type == "IDAT")))
            ImageIntegrityTests.WritePngChunk(rebuilt, type, type == "IDAT" ? deflated.ToArray() : chunk);

        var error = Assert.Throws<ImageReadException>(() => ImageReader.Decode(rebuilt.ToArray(), "filtered.png"));
        Assert.Equal(ImageErrorIds.Corrupt, error.ErrorId);
        Assert.Contains("row 6 has filter type 7", error.Message);
    }
}
