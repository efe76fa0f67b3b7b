using System.IO.Compression;
using HelloDl.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Pbm;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Tga;
using SixLabors.ImageSharp.Formats.Tiff;
using SixLabors.ImageSharp.Formats.Tiff.Constants;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.PixelFormats;

namespace HelloDl.Tests.Imaging;

/// <summary>
/// A damaged or cut-off image file is an error, never a partial image: for every format read,
/// every cut of a real file either fails with a documented id or (where only trailing bytes
/// outside the image went) decodes to exactly the whole file's pixels.
/// </summary>
public sealed class ImageIntegrityTests
{
    /// <summary>Encoders of every format ImageReader reads, in the variants that are laid out differently.</summary>
    public static TheoryData<string> Encodings => new(Encoders.Keys);

    internal static readonly Dictionary<string, IImageEncoder> Encoders = new()
    {
        ["png"] = new PngEncoder(),
        ["png-interlaced"] = new PngEncoder { InterlaceMethod = PngInterlaceMode.Adam7, ColorType = PngColorType.Rgb },
        ["png-palette"] = new PngEncoder { ColorType = PngColorType.Palette },
        ["jpeg"] = new JpegEncoder { Quality = 90 },
        ["gif"] = new GifEncoder(),
        ["bmp"] = new BmpEncoder(),
        ["bmp-8bit"] = new BmpEncoder { BitsPerPixel = BmpBitsPerPixel.Pixel8 },
        ["tiff"] = new TiffEncoder(),
        ["tiff-deflate"] = new TiffEncoder { Compression = TiffCompression.Deflate },
        ["webp-lossy"] = new WebpEncoder { FileFormat = WebpFileFormatType.Lossy },
        ["webp-lossless"] = new WebpEncoder { FileFormat = WebpFileFormatType.Lossless },
        ["tga"] = new TgaEncoder { Compression = TgaCompression.None },
        ["tga-rle"] = new TgaEncoder { Compression = TgaCompression.RunLength },
        ["pgm"] = new PbmEncoder { Encoding = PbmEncoding.Binary, ColorType = PbmColorType.Grayscale },
        ["ppm-plain"] = new PbmEncoder { Encoding = PbmEncoding.Plain, ColorType = PbmColorType.Rgb },
    };

    /// <summary>A 64 x 48 digit-like page: strokes and a gradient, so that every format has real data to cut.</summary>
    internal static byte[] Encode(string encoding, int width = 64, int height = 48)
    {
        using var image = new Image<Rgba32>(width, height);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                bool stroke = Math.Abs((x - width / 2) * (x - width / 2) + (y - height / 2) * (y - height / 2) - 200) < 60 || Math.Abs(x - y) < 2;
                byte paper = (byte)(200 + (x + y) % 50);
                image[x, y] = stroke ? new Rgba32(20, 30, 40) : new Rgba32(paper, paper, (byte)(paper - 10));
            }
        using var buffer = new MemoryStream();
        image.Save(buffer, Encoders[encoding]);
        return buffer.ToArray();
    }

    [Theory, MemberData(nameof(Encodings))]
    public void A_whole_file_reads(string encoding)
    {
        var image = ImageReader.Decode(Encode(encoding), $"whole.{encoding}");
        Assert.Equal((64, 48), (image.Width, image.Height));
    }

    [Theory, MemberData(nameof(Encodings))]
    public void A_file_cut_anywhere_is_an_error_or_the_whole_image(string encoding)
    {
        var bytes = Encode(encoding);
        var whole = ImageReader.Decode(bytes, "whole").Pixels;
        var seen = new SortedDictionary<string, int>();
        // Every cut in the last 64 bytes (where end markers live), and 64 spread over the rest.
        var cuts = Enumerable.Range(1, 64).Select(i => bytes.Length - i).Concat(Enumerable.Range(1, 64).Select(i => bytes.Length * i / 65)).Where(n => n > 0).Distinct();
        foreach (int length in cuts)
        {
            string outcome;
            try
            {
                var image = ImageReader.Decode(bytes[..length], $"cut.{encoding}");
                Assert.True(image.Pixels.SequenceEqual(whole), $"{encoding} cut to {length} of {bytes.Length} bytes decoded to a partial image");
                outcome = "whole image";
            }
            catch (ImageReadException e)
            {
                Assert.Contains(e.ErrorId, new[] { ImageErrorIds.Truncated, ImageErrorIds.Corrupt, ImageErrorIds.NotAnImage });
                Assert.Contains($"cut.{encoding}", e.Message);
                outcome = e.ErrorId;
            }
            seen[outcome] = seen.GetValueOrDefault(outcome) + 1;
        }
        Assert.True(seen.GetValueOrDefault(ImageErrorIds.Truncated) > 0, $"{encoding}: {string.Join(", ", seen)}");
    }

    [Theory, MemberData(nameof(Encodings))]
    public void A_file_cut_in_half_is_truncated(string encoding)
    {
        var bytes = Encode(encoding);
        var error = Assert.Throws<ImageReadException>(() => ImageReader.Decode(bytes[..(bytes.Length / 2)], "half"));
        Assert.Equal(ImageErrorIds.Truncated, error.ErrorId);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(7, 40)]
    [InlineData(40, 7)]
    public void An_image_too_small_for_a_character_says_so(int width, int height)
    {
        var error = Assert.Throws<ImageReadException>(() => ImageReader.Decode(Encode("png", width, height), "tiny.png"));
        Assert.Equal(ImageErrorIds.TooSmall, error.ErrorId);
        Assert.Contains($"{width} x {height}", error.Message);
        Assert.Equal((8, 8), (ImageReader.Decode(Encode("png", 8, 8), "smallest.png").Width, 8));
    }

    [Theory]
    [InlineData("png")]
    [InlineData("png-interlaced")]
    [InlineData("png-palette")]
    public void A_png_whose_image_data_stops_short_inside_whole_chunks_is_truncated(string encoding)
    {
        // What an encoder that stopped early writes, unlike a cut download: every chunk whole, its
        // CRC right, IEND there. Only inflating the data finds it: with that check switched off,
        // ImageSharp 2.1.13's decoding of these files had not returned after five minutes.
        var png = Encode(encoding);
        var chunks = PngChunks(png);
        using var inflated = new MemoryStream();
        using (var inflater = new ZLibStream(new MemoryStream(chunks.Where(c => c.Type == "IDAT").SelectMany(c => c.Data).ToArray()), CompressionMode.Decompress))
            inflater.CopyTo(inflated);
        using var shortened = new MemoryStream();
        using (var deflater = new ZLibStream(shortened, CompressionLevel.Optimal, leaveOpen: true))
            deflater.Write(inflated.ToArray(), 0, (int)inflated.Length * 2 / 3);
        using var rebuilt = new MemoryStream();
        rebuilt.Write(png, 0, 8);
        foreach (var (type, data) in chunks.Where(c => c.Type != "IDAT" || c == chunks.First(d => d.Type == "IDAT")))
            WritePngChunk(rebuilt, type, type == "IDAT" ? shortened.ToArray() : data);

        var error = Assert.Throws<ImageReadException>(() => ImageReader.Decode(rebuilt.ToArray(), "short.png"));
        Assert.Equal(ImageErrorIds.Truncated, error.ErrorId);
        Assert.Contains("short.png", error.Message);
    }

    internal static List<(string Type, byte[] Data)> PngChunks(byte[] png)
    {
        var chunks = new List<(string, byte[])>();
        for (int offset = 8; offset < png.Length;)
        {
            int length = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(offset));
            chunks.Add((System.Text.Encoding.ASCII.GetString(png, offset + 4, 4), png[(offset + 8)..(offset + 8 + length)]));
            offset += 12 + length;
        }
        return chunks;
    }

    internal static void WritePngChunk(Stream to, string type, byte[] data)
    {
        var body = System.Text.Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        uint crc = 0xFFFFFFFF;
        foreach (byte b in body)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? 0xEDB88320 ^ (crc >> 1) : crc >> 1;
        }
        Span<byte> number = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(number, data.Length);
        to.Write(number);
        to.Write(body);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(number, ~crc);
        to.Write(number);
    }

    [Fact]
    public void A_flipped_bit_in_a_png_chunk_fails_its_crc()
    {
        var bytes = Encode("png");
        bytes[bytes.Length / 2] ^= 0x10;
        var error = Assert.Throws<ImageReadException>(() => ImageReader.Decode(bytes, "flipped.png"));
        Assert.Equal(ImageErrorIds.Corrupt, error.ErrorId);
        Assert.Contains("CRC", error.Message);
    }

    [Fact]
    public void A_bmp_claiming_its_pixels_far_past_the_end_is_refused_before_decoding()
    {
        // The decoder would allocate the 940 MB colour table such an offset implies before reading it.
        var bytes = Encode("bmp-8bit");
        BitConverter.TryWriteBytes(bytes.AsSpan(10), 940_000_000);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Equal(ImageErrorIds.Truncated, Assert.Throws<ImageReadException>(() => ImageReader.Decode(bytes, "forged.bmp")).ErrorId);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 10 << 20);
    }

    [Fact]
    public void Bytes_after_the_end_of_a_jpeg_are_ignored()
    {
        var bytes = Encode("jpeg").Concat(new byte[100]).ToArray();
        Assert.Equal(48, ImageReader.Decode(bytes, "padded.jpg").Height);
    }
}
