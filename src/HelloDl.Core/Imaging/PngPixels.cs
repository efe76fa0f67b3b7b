using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using SixLabors.ImageSharp.PixelFormats;

namespace HelloDl.Imaging;

/// <summary>
/// Reads the PNGs that scanners and phones write most (8 bits a sample; grey, grey and alpha, RGB
/// or RGBA; not interlaced; no transparency chunk, no EXIF) straight to brightness, from the image
/// data the integrity check has to inflate anyway. Checking a scanned PNG page and then decoding
/// it with ImageSharp, which inflates the data a second time, took 3.5-3.9 ms; this takes 1.4-1.6
/// ms (scratch harness, Zen 5). The brightness is the same, float for float, as ImageSharp's pixels
/// give; every other PNG is left to ImageSharp.
/// </summary>
internal static class PngPixels
{
    /// <summary>The image's brightness, or null when it is not a PNG this reads (ImageReader then decodes it).</summary>
    /// <exception cref="ImageReadException">The file is damaged or incomplete.</exception>
    public static LuminanceImage? TryRead(ReadOnlySpan<byte> bytes, string path, bool pooled)
    {
        if (ImageIntegrity.WalkPng(bytes, out var layout) is { } problem) throw new ImageReadException(problem.ErrorId, path, problem.Problem);
        if (layout is not { BitDepth: 8, ColorType: 0 or 2 or 4 or 6, Interlaced: false, StandardMethods: true, HasTransparency: false, HasExif: false }
            || !layout.IsDecodable || layout.Width < ImageReader.MinSide || layout.Height < ImageReader.MinSide)
            return null;
        int width = layout.Width, height = layout.Height, channels = layout.Channels, stride = width * channels;
        var data = ArrayPool<byte>.Shared.Rent((int)layout.ImageBytes);
        var zeros = ArrayPool<byte>.Shared.Rent(stride);
        var colours = ArrayPool<Rgba32>.Shared.Rent(width);
        try
        {
            if (ImageIntegrity.InflatePng(bytes, layout, data, keep: true) is { } incomplete)
                throw new ImageReadException(incomplete.ErrorId, path, incomplete.Problem);
            var pixels = pooled ? ArrayPool<float>.Shared.Rent(width * height) : new float[width * height];
            Array.Clear(zeros, 0, stride);
            for (int y = 0; y < height; y++)
            {
                // Rows are unfiltered in place, so the row above is already the image's.
                var row = data.AsSpan(y * (stride + 1) + 1, stride);
                var above = y == 0 ? zeros.AsSpan(0, stride) : data.AsSpan((y - 1) * (stride + 1) + 1, stride);
                byte filter = data[y * (stride + 1)];
                if (!Unfilter(filter, row, above, channels))
                    throw new ImageReadException(ImageErrorIds.Corrupt, path, $"its image data is corrupt (row {y + 1} has filter type {filter}; PNG has 0-4).");
                ImageReader.Brightness(AsColours(row, channels, colours.AsSpan(0, width)), pixels.AsSpan(y * width, width));
            }
            return new LuminanceImage(width, height, pixels, pooled);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(data);
            ArrayPool<byte>.Shared.Return(zeros);
            ArrayPool<Rgba32>.Shared.Return(colours);
        }
    }

    /// <summary>Undoes one row's filter in place (PNG specification, section 9); false for an unknown filter type.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static bool Unfilter(byte filter, Span<byte> row, ReadOnlySpan<byte> above, int bytesPerPixel)
    {
        switch (filter)
        {
            case 0:
                return true;
            case 2:   // Up: the byte above; no byte depends on another
                int i = 0;
                for (; i <= row.Length - Vector128<byte>.Count; i += Vector128<byte>.Count)
                    (Vector128.Create(row.Slice(i)) + Vector128.Create(above.Slice(i))).CopyTo(row.Slice(i));
                for (; i < row.Length; i++) row[i] += above[i];
                return true;
            case 1 or 3 or 4:
                int done = bytesPerPixel >= 3 ? UnfilterPixels(filter, row, above, bytesPerPixel) : 0;
                for (int b = done; b < row.Length; b++)
                {
                    int left = b >= bytesPerPixel ? row[b - bytesPerPixel] : 0, upperLeft = b >= bytesPerPixel ? above[b - bytesPerPixel] : 0;
                    row[b] += (byte)(filter == 1 ? left : filter == 3 ? (left + above[b]) >> 1 : Paeth(left, above[b], upperLeft));
                }
                return true;
            default:
                return false;
        }
    }

    /// <summary>Whichever of left, above and upper left is nearest to left + above - upper left (ties in that order).</summary>
    static int Paeth(int left, int up, int upperLeft)
    {
        int toLeft = Math.Abs(up - upperLeft), toUp = Math.Abs(left - upperLeft), toUpperLeft = Math.Abs(left + up - 2 * upperLeft);
        return toLeft <= toUp && toLeft <= toUpperLeft ? left : toUp <= toUpperLeft ? up : upperLeft;
    }

    /// <summary>
    /// Sub, Average and Paeth for RGB and RGBA a pixel at a time, its channels side by side in one
    /// vector: each pixel depends on the one to its left, so the channels are all there is to do
    /// at once, and a byte at a time Paeth alone took longer than ImageSharp's whole decoding.
    /// Four bytes are read a step; for RGB the fourth is the next pixel's and is not written.
    /// Returns how many bytes it did; the rest are done one at a time.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static int UnfilterPixels(byte filter, Span<byte> row, ReadOnlySpan<byte> above, int bytesPerPixel)
    {
        var left = Vector128<short>.Zero;
        var upperLeft = Vector128<short>.Zero;
        var low = Vector128.Create((short)0xFF);
        int i = 0;
        for (; i + 4 <= row.Length; i += bytesPerPixel)
        {
            var up = Widen(above.Slice(i));
            Vector128<short> predictor;
            if (filter == 1) predictor = left;
            else if (filter == 3) predictor = (left + up) >>> 1;
            else
            {
                var toLeft = Vector128.Abs(up - upperLeft);
                var toUp = Vector128.Abs(left - upperLeft);
                var toUpperLeft = Vector128.Abs(left + up - upperLeft - upperLeft);
                var takeLeft = Vector128.LessThanOrEqual(toLeft, toUp) & Vector128.LessThanOrEqual(toLeft, toUpperLeft);
                predictor = Vector128.ConditionalSelect(takeLeft, left, Vector128.ConditionalSelect(Vector128.LessThanOrEqual(toUp, toUpperLeft), up, upperLeft));
            }
            var value = (Widen(row.Slice(i)) + predictor) & low;
            uint packed = Vector128.Narrow(value, value).AsUInt32().ToScalar();
            if (bytesPerPixel == 4) BinaryPrimitives.WriteUInt32LittleEndian(row.Slice(i), packed);
            else (row[i], row[i + 1], row[i + 2]) = ((byte)packed, (byte)(packed >> 8), (byte)(packed >> 16));
            (left, upperLeft) = (value, up);
        }
        return i;
    }

    /// <summary>Four bytes as the low four of eight 16-bit lanes.</summary>
    static Vector128<short> Widen(ReadOnlySpan<byte> bytes) =>
        Vector128.WidenLower(Vector128.CreateScalar(BinaryPrimitives.ReadUInt32LittleEndian(bytes)).AsByte()).AsInt16();

    /// <summary>A row's samples as the colours ImageSharp gives them: grey repeated in red, green and blue, opaque unless there is alpha.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static ReadOnlySpan<Rgba32> AsColours(ReadOnlySpan<byte> row, int channels, Span<Rgba32> colours)
    {
        switch (channels)
        {
            case 4:
                return MemoryMarshal.Cast<byte, Rgba32>(row);
            case 3:
                for (int x = 0; x < colours.Length; x++) colours[x] = new Rgba32(row[3 * x], row[3 * x + 1], row[3 * x + 2], 255);
                return colours;
            case 2:
                for (int x = 0; x < colours.Length; x++) colours[x] = new Rgba32(row[2 * x], row[2 * x], row[2 * x], row[2 * x + 1]);
                return colours;
            default:
                for (int x = 0; x < colours.Length; x++) colours[x] = new Rgba32(row[x], row[x], row[x], 255);
                return colours;
        }
    }
}
