using System.Buffers.Binary;
using System.IO.Compression;

namespace HelloDl.Tests.Data;

/// <summary>Builds IDX files byte by byte, including broken ones.</summary>
internal static class IdxBytes
{
    public static byte[] Images(int count, int rows, int columns, Func<int, int, int, byte> pixel, uint magic = 0x803, long? claimedCount = null)
    {
        var bytes = new List<byte>();
        AddBigEndian(bytes, magic);
        AddBigEndian(bytes, (uint)(claimedCount ?? count));
        AddBigEndian(bytes, (uint)rows);
        AddBigEndian(bytes, (uint)columns);
        for (int n = 0; n < count; n++)
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < columns; c++)
                    bytes.Add(pixel(n, r, c));
        return bytes.ToArray();
    }

    public static byte[] Labels(params byte[] labels)
    {
        var bytes = new List<byte>();
        AddBigEndian(bytes, 0x801);
        AddBigEndian(bytes, (uint)labels.Length);
        bytes.AddRange(labels);
        return bytes.ToArray();
    }

    public static byte[] Gzip(byte[] data)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true)) gzip.Write(data);
        return buffer.ToArray();
    }

    /// <summary>A pixel pattern with no symmetry, so any transpose or flip shows.</summary>
    public static byte Asymmetric(int n, int r, int c) => (byte)((n * 31 + r * 7 + c * 3 + r * c) % 251);

    static void AddBigEndian(List<byte> bytes, uint value)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(word, value);
        bytes.AddRange(word.ToArray());
    }
}
