using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.CompilerServices;
using System.Text;

namespace HelloDl.Imaging;

/// <summary>
/// Checks that an image file is whole before it is decoded. Decoders are lenient by design: a
/// PNG cut inside its image data, a JPEG cut half-way through its scan, decode without an error,
/// the missing part filled with black or grey, and such a half page would be classified as if it
/// were a real one. So each format's own structure is walked: every chunk, segment or block must
/// lie inside the file, the end marker must be there and the pixel data must be as long as the
/// header says. Only the structure is read; the pixels are left to the decoder.
/// </summary>
public static class ImageIntegrity
{
    /// <summary>The problem with the file's structure, with the error id it gets, or null when the file is whole.</summary>
    public static (string ErrorId, string Problem)? Problem(ReadOnlySpan<byte> bytes, string formatName)
    {
        try
        {
            return formatName.ToUpperInvariant() switch
            {
                "PNG" => Png(bytes),
                "JPEG" => Jpeg(bytes),
                "GIF" => Gif(bytes),
                "BMP" => Bmp(bytes),
                "TIFF" => Tiff(bytes),
                "WEBP" => WebP(bytes),
                "TGA" => Tga(bytes),
                "PBM" => Pbm(bytes),
                _ => null,
            };
        }
        catch (EndOfData end)
        {
            return (ImageErrorIds.Truncated, end.Message);
        }
    }

    /// <summary>Thrown by the walkers when the structure runs past the end of the file.</summary>
    sealed class EndOfData(string message) : Exception(message);

    static (string, string) Truncated(string problem) => (ImageErrorIds.Truncated, problem);
    static (string, string) Corrupt(string problem) => (ImageErrorIds.Corrupt, problem);

    static ReadOnlySpan<byte> Take(ReadOnlySpan<byte> bytes, long offset, long length, string what) =>
        offset >= 0 && length >= 0 && offset + length <= bytes.Length ? bytes.Slice((int)offset, (int)length)
        : throw new EndOfData($"the file ends inside {what} (byte {offset:N0}, {length:N0} bytes; the file has {bytes.Length:N0}): it is truncated.");

    /// <summary>
    /// What walking a whole PNG's chunks found: its header, where its image data lies, and whether
    /// a chunk changes what its pixels decode to (transparency, or EXIF that may turn the image).
    /// </summary>
    /// <param name="StandardMethods">Compression and filter method both 0, the only ones PNG defines.</param>
    internal sealed record PngLayout(int Width, int Height, int BitDepth, int ColorType, bool Interlaced, bool StandardMethods,
        IReadOnlyList<(int Offset, int Length)> ImageData, bool HasTransparency, bool HasExif)
    {
        public int Channels => ColorType switch { 0 => 1, 2 => 3, 3 => 1, 4 => 2, 6 => 4, _ => 0 };
        /// <summary>Whether the decoder can read it at all and would not refuse it as too large.</summary>
        public bool IsDecodable => Channels != 0 && BitDepth is 1 or 2 or 4 or 8 or 16 && (long)Width * Height <= ImageReader.MaxPixels;
        /// <summary>The image data's length inflated: filtered rows with one filter byte each, per Adam7 pass when interlaced.</summary>
        public long ImageBytes => PngImageBytes(Width, Height, Channels * BitDepth, Interlaced);
    }

    /// <summary>The chunks of a PNG walked (see <see cref="PngLayout"/>), or the problem that stops the walk.</summary>
    internal static (string ErrorId, string Problem)? WalkPng(ReadOnlySpan<byte> bytes, out PngLayout? layout)
    {
        layout = null;
        try { return WalkPngChunks(bytes, out layout); }
        catch (EndOfData end) { return (ImageErrorIds.Truncated, end.Message); }
    }

    // PNG: chunks (length, type, data, CRC) up to IEND, every CRC right, and the image data
    // inflating to exactly the rows the header promises.
    static (string, string)? Png(ReadOnlySpan<byte> bytes)
    {
        if (WalkPngChunks(bytes, out var layout) is { } problem) return problem;
        // What the decoder cannot read, or will refuse as too large, is left to it.
        if (!layout!.IsDecodable) return null;
        var scratch = ArrayPool<byte>.Shared.Rent(1 << 16);
        try { return InflatePng(bytes, layout, scratch, keep: false); }
        finally { ArrayPool<byte>.Shared.Return(scratch); }
    }

    static (string, string)? WalkPngChunks(ReadOnlySpan<byte> bytes, out PngLayout? layout)
    {
        layout = null;
        long offset = 8;
        int width = 0, height = 0, bitDepth = 0, colorType = 0, interlace = 0;
        bool standardMethods = false, transparency = false, exif = false;
        var imageData = new List<(int Offset, int Length)>();
        while (true)
        {
            var head = Take(bytes, offset, 8, "a chunk header");
            uint length = BinaryPrimitives.ReadUInt32BigEndian(head);
            string type = Encoding.ASCII.GetString(head[4..8]);
            var data = Take(bytes, offset + 8, length, $"its {type} chunk");
            uint stored = BinaryPrimitives.ReadUInt32BigEndian(Take(bytes, offset + 8 + length, 4, $"the checksum of its {type} chunk"));
            if (Crc32.Of(bytes.Slice((int)offset + 4, (int)length + 4)) != stored)
                return Corrupt($"its {type} chunk at byte {offset:N0} fails its CRC check: the file is damaged.");
            if (offset == 8)
            {
                if (type != "IHDR" || length < 13) return Corrupt("it does not begin with an IHDR chunk.");
                width = (int)Math.Min(int.MaxValue, BinaryPrimitives.ReadUInt32BigEndian(data));
                height = (int)Math.Min(int.MaxValue, BinaryPrimitives.ReadUInt32BigEndian(data[4..]));
                (bitDepth, colorType, interlace) = (data[8], data[9], data[12]);
                standardMethods = data[10] == 0 && data[11] == 0;
            }
            if (type == "IDAT") imageData.Add(((int)offset + 8, (int)length));
            transparency |= type == "tRNS";
            // EXIF comes in its own chunk, or as text in ImageMagick's older way.
            exif |= type == "eXIf" || (type is "tEXt" or "zTXt" or "iTXt" && data.StartsWith("Raw profile type"u8));
            if (type == "IEND") break;
            offset += 12 + length;
        }
        layout = new PngLayout(width, height, bitDepth, colorType, interlace == 1, standardMethods, imageData, transparency, exif);
        return null;
    }

    /// <summary>
    /// Inflates a PNG's image data into <paramref name="output"/>: all of it, which must have
    /// room for <see cref="PngLayout.ImageBytes"/>, when <paramref name="keep"/>; else through it
    /// as scratch, only to count. The problem when the data is damaged or ends early.
    /// </summary>
    internal static (string ErrorId, string Problem)? InflatePng(ReadOnlySpan<byte> bytes, PngLayout layout, Span<byte> output, bool keep)
    {
        long expected = layout.ImageBytes;
        // The IDAT chunks' data, joined, goes to a pooled array: a scanned page's is over the large
        // object heap's threshold, and a new array per page set off collections that held back
        // reading on all cores.
        int compressed = layout.ImageData.Sum(chunk => chunk.Length);
        var joined = ArrayPool<byte>.Shared.Rent(Math.Max(1, compressed));
        long inflated = 0;
        try
        {
            int at = 0;
            foreach (var (chunkOffset, chunkLength) in layout.ImageData)
            {
                bytes.Slice(chunkOffset, chunkLength).CopyTo(joined.AsSpan(at));
                at += chunkLength;
            }
            using var inflater = new ZLibStream(new MemoryStream(joined, 0, compressed, writable: false), CompressionMode.Decompress);
            int read;
            while (inflated < expected && (read = inflater.Read(keep ? output.Slice((int)inflated, (int)(expected - inflated)) : output)) > 0) inflated += read;
        }
        catch (InvalidDataException e) { return Corrupt($"its image data cannot be inflated ({e.Message})."); }
        finally { ArrayPool<byte>.Shared.Return(joined); }
        return inflated < expected ? Truncated($"its image data ends after {inflated:N0} of {expected:N0} bytes: the image is incomplete.") : null;
    }

    /// <summary>Filtered image bytes (one filter byte per row) of a PNG, per Adam7 pass when interlaced.</summary>
    static long PngImageBytes(long width, long height, int bitsPerPixel, bool interlaced)
    {
        long Rows(long w, long h) => w == 0 || h == 0 ? 0 : h * (1 + (w * bitsPerPixel + 7) / 8);
        if (!interlaced) return Rows(width, height);
        ReadOnlySpan<int> x0 = [0, 4, 0, 2, 0, 1, 0], dx = [8, 8, 4, 4, 2, 2, 1], y0 = [0, 0, 4, 0, 2, 0, 1], dy = [8, 8, 8, 4, 4, 2, 2];
        long total = 0;
        for (int pass = 0; pass < 7; pass++)
            total += Rows((width - x0[pass] + dx[pass] - 1) / dx[pass], (height - y0[pass] + dy[pass] - 1) / dy[pass]);
        return total;
    }

    // JPEG: segments up to the first scan, then the entropy-coded data (where a 0xFF byte is
    // always followed by 0x00 or a restart marker) up to the next marker, and so on to EOI.
    static (string, string)? Jpeg(ReadOnlySpan<byte> bytes)
    {
        long offset = 2;
        bool scanned = false;
        while (true)
        {
            // Bytes between segments that are not a marker are skipped, as decoders do.
            while (offset < bytes.Length && bytes[(int)offset] != 0xFF) offset++;
            while (offset < bytes.Length && bytes[(int)offset] == 0xFF) offset++;
            if (offset >= bytes.Length)
                return Truncated(scanned ? "its scan data ends without an end-of-image marker: the image is incomplete."
                    : "the file ends before any image data (no scan).");
            byte marker = bytes[(int)offset++];
            if (marker == 0xD9) return scanned ? null : Truncated("it ends (EOI) before any image data.");
            if (marker is 0x01 or (>= 0xD0 and <= 0xD7)) continue;   // TEM and restart markers carry no length
            int length = BinaryPrimitives.ReadUInt16BigEndian(Take(bytes, offset, 2, $"the length of segment 0x{marker:X2}"));
            if (length < 2) return Corrupt($"segment 0x{marker:X2} at byte {offset:N0} has length {length}.");
            Take(bytes, offset, length, $"segment 0x{marker:X2}");
            offset += length;
            if (marker != 0xDA) continue;
            scanned = true;
            // The scan's data: find the marker that ends it.
            while (true)
            {
                int next = bytes[(int)offset..].IndexOf((byte)0xFF);
                if (next < 0 || offset + next + 1 >= bytes.Length)
                    return Truncated("its scan data ends without an end-of-image marker: the image is incomplete.");
                offset += next + 1;
                byte following = bytes[(int)offset];
                if (following == 0x00 || following is >= 0xD0 and <= 0xD7) { offset++; continue; }
                if (following == 0xFF) continue;   // fill bytes before a marker
                offset--;
                break;
            }
        }
    }

    // GIF: header, screen descriptor and colour table, then extension and image blocks, each
    // image's data a chain of sub-blocks ending in an empty one, up to the trailer.
    static (string, string)? Gif(ReadOnlySpan<byte> bytes)
    {
        var screen = Take(bytes, 6, 7, "the screen descriptor");
        long offset = 13 + ColorTableBytes(screen[4]);
        while (true)
        {
            byte block = Take(bytes, offset, 1, "the block list")[0];
            offset++;
            switch (block)
            {
                case 0x3B: return null;
                case 0x21:
                    offset = SkipSubBlocks(bytes, offset + 1, "an extension block");
                    break;
                case 0x2C:
                    var descriptor = Take(bytes, offset, 9, "an image descriptor");
                    offset += 9 + ColorTableBytes(descriptor[8]);
                    Take(bytes, offset, 1, "an image's LZW code size");
                    offset = SkipSubBlocks(bytes, offset + 1, "an image's data");
                    break;
                default:
                    return Corrupt($"byte {offset - 1:N0} (0x{block:X2}) starts no GIF block.");
            }
        }
    }

    static long ColorTableBytes(byte flags) => (flags & 0x80) == 0 ? 0 : 3L << ((flags & 7) + 1);

    static long SkipSubBlocks(ReadOnlySpan<byte> bytes, long offset, string what)
    {
        while (true)
        {
            byte size = Take(bytes, offset, 1, what)[0];
            offset++;
            if (size == 0) return offset;
            Take(bytes, offset, size, what);
            offset += size;
        }
    }

    // BMP: uncompressed rows must all be there; RLE data must reach its end-of-bitmap code.
    static (string, string)? Bmp(ReadOnlySpan<byte> bytes)
    {
        var header = Take(bytes, 0, 18, "the file header");
        long pixelsAt = BinaryPrimitives.ReadUInt32LittleEndian(header[10..]);
        uint infoSize = BinaryPrimitives.ReadUInt32LittleEndian(header[14..]);
        long width, height;
        int bitsPerPixel, compression = 0;
        if (infoSize == 12)
        {
            var core = Take(bytes, 14, 12, "the bitmap header");
            (width, height, bitsPerPixel) = (BinaryPrimitives.ReadInt16LittleEndian(core[4..]), BinaryPrimitives.ReadInt16LittleEndian(core[6..]), BinaryPrimitives.ReadUInt16LittleEndian(core[10..]));
        }
        else
        {
            var info = Take(bytes, 14, 20, "the bitmap header");
            width = BinaryPrimitives.ReadInt32LittleEndian(info[4..]);
            height = Math.Abs((long)BinaryPrimitives.ReadInt32LittleEndian(info[8..]));
            bitsPerPixel = BinaryPrimitives.ReadUInt16LittleEndian(info[14..]);
            compression = (int)BinaryPrimitives.ReadUInt32LittleEndian(info[16..]);
        }
        if (width * height > ImageReader.MaxPixels)
            return (ImageErrorIds.TooLarge, $"the image claims {width:N0} x {height:N0} pixels; at most {ImageReader.MaxPixels:N0} pixels are decoded.");
        if (pixelsAt > bytes.Length) Take(bytes, pixelsAt, 0, "its pixel rows");
        switch (compression)
        {
            case 0 or 3 or 6:   // RGB, bit fields, alpha bit fields: plain rows padded to four bytes
                long rowBytes = (width * bitsPerPixel + 31) / 32 * 4;
                Take(bytes, pixelsAt, rowBytes * height, "its pixel rows");
                return null;
            case 1 or 2:        // RLE8, RLE4
                return RunLengthEnds(bytes, pixelsAt, compression == 2) ? null : Truncated("its run-length data ends without an end-of-bitmap code: the image is incomplete.");
            default:
                return null;
        }
    }

    static bool RunLengthEnds(ReadOnlySpan<byte> bytes, long offset, bool fourBit)
    {
        while (offset + 1 < bytes.Length)
        {
            byte count = bytes[(int)offset], value = bytes[(int)offset + 1];
            offset += 2;
            if (count != 0) continue;                 // a run
            if (value == 1) return true;              // end of bitmap
            if (value == 0) continue;                 // end of line
            if (value == 2) { offset += 2; continue; } // delta
            long literal = fourBit ? (value + 1) / 2 : value;
            offset += (literal + 1) / 2 * 2;          // absolute run, padded to a word
        }
        return false;
    }

    // TIFF: the first directory and every strip or tile it points to lie inside the file.
    static (string, string)? Tiff(ReadOnlySpan<byte> bytes)
    {
        var header = Take(bytes, 0, 8, "the TIFF header");
        bool little = header[0] == (byte)'I';
        if (ReadUInt16(header[2..], little) != 42) return null;   // BigTIFF and others: left to the decoder
        uint ReadOffset(ReadOnlySpan<byte> s) => little ? BinaryPrimitives.ReadUInt32LittleEndian(s) : BinaryPrimitives.ReadUInt32BigEndian(s);
        long directory = ReadOffset(header[4..]);
        int entries = ReadUInt16(Take(bytes, directory, 2, "the image directory"), little);
        var table = Take(bytes, directory + 2, 12L * entries, "the image directory");
        long[]? offsets = null, counts = null;
        for (int e = 0; e < entries; e++)
        {
            var entry = table.Slice(12 * e, 12);
            int tag = ReadUInt16(entry, little), type = ReadUInt16(entry[2..], little);
            long count = ReadOffset(entry[4..]);
            if (tag is not (273 or 279 or 324 or 325) || type is not (3 or 4)) continue;
            int size = type == 3 ? 2 : 4;
            var values = size * count <= 4 ? entry.Slice(8, (int)(size * count)) : Take(bytes, ReadOffset(entry[8..]), size * count, "a strip table");
            var numbers = new long[count];
            for (int i = 0; i < count; i++) numbers[i] = size == 2 ? ReadUInt16(values[(2 * i)..], little) : ReadOffset(values[(4 * i)..]);
            if (tag is 273 or 324) offsets = numbers; else counts = numbers;
        }
        if (offsets is null || counts is null || offsets.Length != counts.Length) return null;
        for (int i = 0; i < offsets.Length; i++) Take(bytes, offsets[i], counts[i], $"strip {i + 1} of {offsets.Length}");
        return null;
    }

    static int ReadUInt16(ReadOnlySpan<byte> s, bool little) => little ? BinaryPrimitives.ReadUInt16LittleEndian(s) : BinaryPrimitives.ReadUInt16BigEndian(s);

    // WebP: a RIFF container whose size and chunks fit the file.
    static (string, string)? WebP(ReadOnlySpan<byte> bytes)
    {
        long riffSize = BinaryPrimitives.ReadUInt32LittleEndian(Take(bytes, 4, 4, "the RIFF header"));
        Take(bytes, 8, riffSize, "the RIFF container");
        long offset = 12, end = 8 + riffSize;
        bool image = false;
        while (offset + 8 <= end)
        {
            var chunk = Take(bytes, offset, 8, "a chunk header");
            string type = Encoding.ASCII.GetString(chunk[..4]);
            long size = BinaryPrimitives.ReadUInt32LittleEndian(chunk[4..]);
            Take(bytes, offset + 8, size, $"its {type.Trim()} chunk");
            image |= type is "VP8 " or "VP8L" or "ANMF";
            offset += 8 + size + (size & 1);
        }
        return image ? null : Truncated("it holds no image data (no VP8, VP8L or ANMF chunk).");
    }

    // TGA: uncompressed pixels all there, or run-length packets covering every pixel.
    static (string, string)? Tga(ReadOnlySpan<byte> bytes)
    {
        var header = Take(bytes, 0, 18, "the TGA header");
        int imageType = header[2], pixelBytes = (header[16] + 7) / 8;
        long width = BinaryPrimitives.ReadUInt16LittleEndian(header[12..]), height = BinaryPrimitives.ReadUInt16LittleEndian(header[14..]);
        long offset = 18 + header[0] + (header[1] == 1 ? BinaryPrimitives.ReadUInt16LittleEndian(header[5..]) * (long)((header[7] + 7) / 8) : 0);
        long pixels = width * height;
        if (imageType is 1 or 2 or 3)
        {
            Take(bytes, offset, pixels * pixelBytes, "its pixel data");
            return null;
        }
        if (imageType is not (9 or 10 or 11)) return null;
        for (long done = 0; done < pixels;)
        {
            byte packet = Take(bytes, offset, 1, "its run-length data")[0];
            int run = (packet & 0x7F) + 1;
            long data = (packet & 0x80) != 0 ? pixelBytes : (long)run * pixelBytes;
            Take(bytes, offset + 1, data, "its run-length data");
            offset += 1 + data;
            done += run;
        }
        return null;
    }

    // PBM, PGM, PPM: binary rasters as long as the header says; plain (text) ones with as many samples.
    static (string, string)? Pbm(ReadOnlySpan<byte> bytes)
    {
        char kind = (char)Take(bytes, 1, 1, "the header")[0];
        int fields = kind is '1' or '4' ? 2 : 3;
        long offset = 2;
        var numbers = new long[3];
        for (int f = 0; f < fields; f++)
        {
            offset = SkipSpaceAndComments(bytes, offset);
            long value = 0;
            int digits = 0;
            while (offset < bytes.Length && bytes[(int)offset] is >= (byte)'0' and <= (byte)'9' && digits++ < 10) value = value * 10 + bytes[(int)offset++] - '0';
            if (digits == 0) return offset >= bytes.Length ? Truncated("the file ends inside its header.") : null;
            numbers[f] = value;
        }
        long width = numbers[0], height = numbers[1];
        int channels = kind is '3' or '6' ? 3 : 1, sampleBytes = fields == 3 && numbers[2] > 255 ? 2 : 1;
        if (kind is '4' or '5' or '6')
        {
            long rowBytes = kind == '4' ? (width + 7) / 8 : width * channels * sampleBytes;
            Take(bytes, offset + 1, rowBytes * height, "its pixel data");
            return null;
        }
        long samples = width * height * channels, found = 0, i = offset;
        for (; i < bytes.Length && found < samples; i++)
        {
            byte c = bytes[(int)i];
            if (c == '#') { i = SkipSpaceAndComments(bytes, i) - 1; continue; }
            bool digit = c is >= (byte)'0' and <= (byte)'9';
            // Plain PBM may run its bits together; the others separate numbers with space.
            if (digit && (kind == '1' || i == offset || bytes[(int)i - 1] is not (>= (byte)'0' and <= (byte)'9'))) found++;
        }
        if (found < samples) return Truncated($"it holds {found:N0} of the {samples:N0} samples its header announces: the image is incomplete.");
        // A number that runs to the very end may have lost digits.
        while (kind != '1' && i < bytes.Length && bytes[(int)i] is >= (byte)'0' and <= (byte)'9') i++;
        return kind != '1' && i >= bytes.Length && bytes[^1] is >= (byte)'0' and <= (byte)'9'
            ? Truncated("its last sample runs to the end of the file with no space after it: the file may be cut inside it.") : null;
    }

    static long SkipSpaceAndComments(ReadOnlySpan<byte> bytes, long offset)
    {
        while (offset < bytes.Length)
        {
            byte c = bytes[(int)offset];
            if (c == '#') { while (offset < bytes.Length && bytes[(int)offset] != '\n') offset++; }
            else if (c is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n') offset++;
            else break;
        }
        return offset;
    }

    /// <summary>
    /// The CRC-32 of PNG chunks (ISO 3309, reflected polynomial 0xEDB88320), eight bytes a step
    /// (slicing by 8: table k holds a byte's CRC followed by k zero bytes). A byte a step, it was a
    /// quarter of checking a scanned PNG.
    /// </summary>
    static class Crc32
    {
        static readonly uint[] Tables = CreateTables();

        static uint[] CreateTables()
        {
            var tables = new uint[8 * 256];
            for (uint n = 0; n < 256; n++)
            {
                uint c = n;
                for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
                tables[n] = c;
            }
            for (int k = 1; k < 8; k++)
                for (int n = 0; n < 256; n++)
                {
                    uint previous = tables[(k - 1) * 256 + n];
                    tables[k * 256 + n] = (previous >> 8) ^ tables[previous & 0xFF];
                }
            return tables;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static uint Of(ReadOnlySpan<byte> data)
        {
            var t = Tables;
            uint crc = 0xFFFFFFFF;
            for (; data.Length >= 8; data = data[8..])
            {
                uint low = BinaryPrimitives.ReadUInt32LittleEndian(data) ^ crc, high = BinaryPrimitives.ReadUInt32LittleEndian(data[4..]);
                crc = t[7 * 256 + (low & 0xFF)] ^ t[6 * 256 + ((low >> 8) & 0xFF)] ^ t[5 * 256 + ((low >> 16) & 0xFF)] ^ t[4 * 256 + (low >> 24)]
                    ^ t[3 * 256 + (high & 0xFF)] ^ t[2 * 256 + ((high >> 8) & 0xFF)] ^ t[256 + ((high >> 16) & 0xFF)] ^ t[high >> 24];
            }
            foreach (byte b in data) crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8);
            return crc ^ 0xFFFFFFFF;
        }
    }
}
