using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Tiff;
using SixLabors.ImageSharp.Metadata;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace HelloDl.Imaging;

/// <summary>
/// Decodes image files (PNG, JPEG, BMP, GIF, TIFF, WebP, ...) with ImageSharp (the common kinds of
/// PNG with <see cref="PngPixels"/>, from the data the integrity check inflates), within bounds a
/// hostile file cannot push past: the file size, the pixel count (checked from the header before
/// decoding) and one frame only. A file must be whole (<see cref="ImageIntegrity"/>): a cut-off
/// download is an error, never a partial image. EXIF orientation is applied and transparency is laid on white
/// paper, so what comes out is what a person sees.
/// </summary>
public static class ImageReader
{
    public const long MaxFileBytes = 64L << 20;
    public const long MaxPixels = 40_000_000;
    /// <summary>
    /// Narrower or lower images cannot hold a character: the smallest handwriting we know of, the
    /// UCI digits, is 8 x 8 pixels.
    /// </summary>
    public const int MinSide = 8;
    const string NotAnImageProblem = "not an image in a known format (PNG, JPEG, BMP, GIF, TIFF, WebP, ...).";

    static readonly Configuration FirstFrameOnly = CreateConfiguration();

    static Configuration CreateConfiguration()
    {
        var configuration = Configuration.Default.Clone();
        configuration.ImageFormatsManager.SetDecoder(GifFormat.Instance, new GifDecoder { DecodingMode = FrameDecodingMode.First, MaxFrames = 1 });
        configuration.ImageFormatsManager.SetDecoder(TiffFormat.Instance, new TiffDecoder { DecodingMode = FrameDecodingMode.First });
        return configuration;
    }

    public static LuminanceImage Read(string path) => Read(path, pooled: false);

    /// <summary>
    /// Reads an image file; when <paramref name="pooled"/>, its bytes and the image's pixels are
    /// rented from the shared pools and the caller gives the pixels back with
    /// <see cref="LuminanceImage.Release"/>. (A scanned page is over the large object heap's
    /// threshold, and a new array per page set off the collections that kept two threads reading
    /// files from running twice as fast as one.)
    /// </summary>
    internal static LuminanceImage Read(string path, bool pooled)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"{path}: no such file.", path);
        if (info.Length == 0) throw new ImageReadException(ImageErrorIds.Empty, path, "the file is empty.");
        if (info.Length > MaxFileBytes)
            throw new ImageReadException(ImageErrorIds.TooLarge, path, $"the file is {info.Length:N0} bytes; images over {MaxFileBytes:N0} bytes are refused.");
        if (!pooled) return Decode(File.ReadAllBytes(path), path);
        var bytes = ArrayPool<byte>.Shared.Rent((int)info.Length);
        try
        {
            int length = 0, read;
            using (var file = File.OpenHandle(path))
                while (length < (int)info.Length && (read = RandomAccess.Read(file, bytes.AsSpan(length, (int)info.Length - length), length)) > 0) length += read;
            return Decode(bytes, length, path, pooled);
        }
        finally { ArrayPool<byte>.Shared.Return(bytes); }
    }

    /// <summary>
    /// How ImageSharp's decoders fail on damaged input: with their own exceptions, and with
    /// whatever the damaged structure leads to (index out of range, invalid operation, overflow
    /// ...). All of them mean the file, not the program, is broken; running out of memory or
    /// being cancelled do not.
    /// </summary>
    static bool IsDecoderFailure(Exception e) => e is not (OutOfMemoryException or OperationCanceledException or ImageReadException);

    public static LuminanceImage Decode(byte[] bytes, string path) => Decode(bytes, bytes.Length, path, pooled: false);

    /// <summary>Decodes the first <paramref name="length"/> bytes; pixels from the shared pool when <paramref name="pooled"/>.</summary>
    static LuminanceImage Decode(byte[] bytes, int length, string path, bool pooled)
    {
        using var stream = new MemoryStream(bytes, 0, length, writable: false);
        var format = Image.DetectFormat(FirstFrameOnly, stream);
        if (format is null) throw new ImageReadException(ImageErrorIds.NotAnImage, path, NotAnImageProblem);
        if (format == PngFormat.Instance && PngPixels.TryRead(bytes.AsSpan(0, length), path, pooled) is { } png) return png;
        // Before the decoder sees it: on a cut-off file it fails with whatever exception the
        // missing bytes lead to, or succeeds with the missing part painted grey, and a forged
        // BMP header makes it allocate the palette it claims before reading any of it.
        if (ImageIntegrity.Problem(bytes.AsSpan(0, length), format.Name) is { } problem) throw new ImageReadException(problem.ErrorId, path, problem.Problem);
        IImageInfo? header;
        try
        {
            stream.Position = 0;
            header = Image.Identify(FirstFrameOnly, stream, out _);
        }
        catch (Exception e) when (IsDecoderFailure(e))
        {
            throw new ImageReadException(ImageErrorIds.Corrupt, path, $"the image header cannot be read ({e.Message}).", e);
        }
        if (header is null) throw new ImageReadException(ImageErrorIds.NotAnImage, path, NotAnImageProblem);
        if ((long)header.Width * header.Height > MaxPixels || header.Width <= 0 || header.Height <= 0)
            throw new ImageReadException(ImageErrorIds.TooLarge, path, $"the image claims {header.Width:N0} x {header.Height:N0} pixels; at most {MaxPixels:N0} pixels are decoded.");
        if (header.Width < MinSide || header.Height < MinSide)
            throw new ImageReadException(ImageErrorIds.TooSmall, path, $"the image is {header.Width} x {header.Height} pixels, too small to hold a character (at least {MinSide} x {MinSide}).");
        try
        {
            stream.Position = 0;
            using var image = Image.Load<Rgba32>(FirstFrameOnly, stream);
            image.Mutate(x => x.AutoOrient());
            var pixels = pooled ? ArrayPool<float>.Shared.Rent(image.Width * image.Height) : new float[image.Width * image.Height];
            int width = image.Width;
            image.ProcessPixelRows(rows =>
            {
                for (int y = 0; y < rows.Height; y++) Brightness(rows.GetRowSpan(y), pixels.AsSpan(y * width, width));
            });
            return new LuminanceImage(image.Width, image.Height, pixels, pooled);
        }
        catch (Exception e) when (IsDecoderFailure(e))
        {
            throw new ImageReadException(ImageErrorIds.Corrupt, path, $"the image data is corrupt or truncated ({e.Message}).", e);
        }
    }

    /// <summary>
    /// Rec. 601 luma of each pixel, then its alpha laid over white paper; eight pixels at a time,
    /// with the same operations in the same order as one at a time, so both give the same floats.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Brightness(ReadOnlySpan<Rgba32> row, Span<float> brightness)
    {
        var packed = MemoryMarshal.Cast<Rgba32, uint>(row);
        var (red, green, blue) = (Vector256.Create(0.299f), Vector256.Create(0.587f), Vector256.Create(0.114f));
        var (full, channel) = (Vector256.Create(255f), Vector256.Create(0xFFu));
        int x = 0;
        for (; x <= packed.Length - Vector256<uint>.Count; x += Vector256<uint>.Count)
        {
            var p = Vector256.Create(packed.Slice(x));
            var luma = (red * Vector256.ConvertToSingle((p & channel).AsInt32()) + green * Vector256.ConvertToSingle(((p >> 8) & channel).AsInt32())
                + blue * Vector256.ConvertToSingle(((p >> 16) & channel).AsInt32())) / full;
            var alpha = Vector256.ConvertToSingle((p >> 24).AsInt32()) / full;
            (alpha * luma + (Vector256<float>.One - alpha)).CopyTo(brightness.Slice(x));
        }
        for (; x < row.Length; x++)
        {
            var p = row[x];
            float luma = (0.299f * p.R + 0.587f * p.G + 0.114f * p.B) / 255f;
            float alpha = p.A / 255f;
            brightness[x] = alpha * luma + (1 - alpha);
        }
    }
}
