using System.Buffers.Binary;

namespace HelloDl.Data;

/// <summary>Raw images of one IDX file, in the file's own orientation.</summary>
internal sealed record IdxImages(int Count, int Rows, int Columns, byte[] Pixels);

/// <summary>
/// Reads LeCun's IDX format (big-endian header: two zero bytes, type 0x08 = unsigned byte, the
/// number of dimensions, then one uint32 per dimension, then the data). Nothing is allocated
/// from the header alone: the claimed size is checked against the known length of the source
/// when there is one, and otherwise the buffer grows only as data actually arrives.
/// </summary>
internal static class IdxReader
{
    const byte UnsignedByteType = 0x08;
    const int InitialChunk = 64 << 20;

    public static IdxImages ReadImages(Stream stream, string path, long? knownLength)
    {
        var dims = ReadHeader(stream, path, expectedDimensions: 3, what: "images");
        long count = dims[0], rows = dims[1], columns = dims[2];
        if (rows == 0 || columns == 0)
            throw new DatasetFormatException(DatasetErrorIds.EmptyDimension, path,
                $"the header gives images of {rows}x{columns} pixels; both must be at least 1.");
        // Three uint32 dimensions can multiply past a long: compared wide, refused as too large.
        Int128 claimed = (Int128)count * rows * columns;
        long bodyBytes = claimed > Array.MaxLength ? long.MaxValue : (long)claimed;
        var pixels = ReadBody(stream, path, HeaderBytes(3), bodyBytes, knownLength, $"{count:N0} images of {rows}x{columns}");
        return new IdxImages((int)count, (int)rows, (int)columns, pixels);
    }

    public static byte[] ReadLabels(Stream stream, string path, long? knownLength)
    {
        var dims = ReadHeader(stream, path, expectedDimensions: 1, what: "labels");
        return ReadBody(stream, path, HeaderBytes(1), dims[0], knownLength, $"{dims[0]:N0} labels");
    }

    static long HeaderBytes(int dimensions) => 4 + 4L * dimensions;

    static long[] ReadHeader(Stream stream, string path, int expectedDimensions, string what)
    {
        Span<byte> header = stackalloc byte[4 + 4 * 3];
        int headerLength = 4 + 4 * expectedDimensions;
        int got = ReadFully(stream, header[..headerLength], path);
        if (got < 4)
            throw new DatasetFormatException(DatasetErrorIds.Truncated, path,
                $"the file ends after {got} bytes, before the IDX header is complete.");
        if (header[0] != 0 || header[1] != 0 || header[2] != UnsignedByteType || header[3] != expectedDimensions)
            throw new DatasetFormatException(DatasetErrorIds.BadMagic, path,
                $"not an IDX {what} file: magic number 0x{BinaryPrimitives.ReadUInt32BigEndian(header):X8}, expected 0x{0x800 + expectedDimensions:X8} " +
                $"(unsigned bytes, {expectedDimensions} dimension{(expectedDimensions == 1 ? "" : "s")}).");
        if (got < headerLength)
            throw new DatasetFormatException(DatasetErrorIds.Truncated, path,
                $"the file ends after {got} bytes, inside the IDX header ({headerLength} bytes).");
        var dims = new long[expectedDimensions];
        for (int i = 0; i < expectedDimensions; i++)
            dims[i] = BinaryPrimitives.ReadUInt32BigEndian(header.Slice(4 + 4 * i, 4));
        return dims;
    }

    static byte[] ReadBody(Stream stream, string path, long headerBytes, long bodyBytes, long? knownLength, string claim)
    {
        if (bodyBytes > Array.MaxLength)
            throw new DatasetFormatException(DatasetErrorIds.TooLarge, path,
                $"the header claims {claim}, more than one data set can hold ({Array.MaxLength:N0} bytes).");
        if (knownLength is long length && length != headerBytes + bodyBytes)
        {
            bool shorter = length < headerBytes + bodyBytes;
            throw new DatasetFormatException(shorter ? DatasetErrorIds.Truncated : DatasetErrorIds.TrailingData, path,
                $"the header claims {claim} ({headerBytes + bodyBytes:N0} bytes with the header) but the file holds {length:N0} bytes" +
                (shorter ? "; it is truncated or the header is wrong." : "; it has data past the end."));
        }

        // Grow as bytes arrive, so a lying header on a compressed stream costs nothing.
        var buffer = new byte[(int)Math.Min(bodyBytes, InitialChunk)];
        long filled = 0;
        while (filled < bodyBytes)
        {
            if (filled == buffer.Length)
                Array.Resize(ref buffer, (int)Math.Min(bodyBytes, (long)buffer.Length * 2));
            int read = ReadFully(stream, buffer.AsSpan((int)filled), path);
            filled += read;
            if (read == 0 || (filled < bodyBytes && filled < buffer.Length))
                throw new DatasetFormatException(DatasetErrorIds.Truncated, path,
                    $"the header claims {claim} but the data ends after {filled:N0} of {bodyBytes:N0} bytes.");
        }
        Span<byte> probe = stackalloc byte[1];
        if (knownLength is null && ReadFully(stream, probe, path) != 0)
            throw new DatasetFormatException(DatasetErrorIds.TrailingData, path,
                $"the header claims {claim} but the file has data past the end.");
        return buffer;
    }

    /// <summary>Reads until the span is full or the stream ends; decompression faults become format errors.</summary>
    static int ReadFully(Stream stream, Span<byte> destination, string path)
    {
        int total = 0;
        try
        {
            while (total < destination.Length)
            {
                int read = stream.Read(destination[total..]);
                if (read == 0) break;
                total += read;
            }
        }
        catch (InvalidDataException e)
        {
            throw new DatasetFormatException(DatasetErrorIds.CorruptCompression, path,
                $"the compressed data is corrupt or truncated ({e.Message}).", e);
        }
        return total;
    }
}
