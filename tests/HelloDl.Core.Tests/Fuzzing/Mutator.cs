using System.Buffers.Binary;

namespace HelloDl.Tests.Fuzzing;

/// <summary>
/// A seeded mutation fuzzer: each case is a valid file changed in one of the ways files are
/// damaged or forged. Case n of a seed is always the same bytes, so a failure can be replayed.
/// </summary>
public static class Mutator
{
    public static readonly string[] Kinds = ["bit flips", "byte run", "truncation", "length field", "inserted span", "deleted span"];

    static readonly uint[] Interesting = [0, 1, 2, 7, 8, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF];

    /// <summary>Case <paramref name="index"/> of <paramref name="seed"/>: the kind of mutation and the mutated bytes.</summary>
    public static (string Kind, byte[] Bytes) Mutate(byte[] original, int seed, int index)
    {
        // Not HashCode.Combine: it is salted per process, and a case must replay in another one.
        var random = new Random(unchecked(seed * 1_000_003 + index));
        int kind = index % Kinds.Length;
        var bytes = original.ToList();
        int At(int extra = 0) => random.Next(Math.Max(1, bytes.Count + extra));
        switch (kind)
        {
            case 0:
                for (int flips = 1 + random.Next(4); flips > 0; flips--) { int at = At(); bytes[at] ^= (byte)(1 << random.Next(8)); }
                break;
            case 1:
            {
                int at = At(), length = 1 + random.Next(64);
                byte value = random.Next(3) switch { 0 => 0, 1 => 0xFF, _ => (byte)random.Next(256) };
                for (int i = at; i < Math.Min(bytes.Count, at + length); i++) bytes[i] = value;
                break;
            }
            case 2:
            {
                int keep = random.Next(bytes.Count);
                bytes.RemoveRange(keep, bytes.Count - keep);
                break;
            }
            case 3:
            {
                // A length or count field: a 2- or 4-byte number, either byte order, near the start
                // where headers are, or anywhere.
                int width = random.Next(2) == 0 ? 2 : 4;
                int at = random.Next(2) == 0 ? random.Next(Math.Min(64, Math.Max(1, bytes.Count - width))) : At(-width);
                if (at + width > bytes.Count) break;
                uint value = random.Next(3) == 0 ? (uint)(bytes.Count + random.Next(-2, 3)) : Interesting[random.Next(Interesting.Length)];
                Span<byte> field = stackalloc byte[4];
                if (random.Next(2) == 0) BinaryPrimitives.WriteUInt32BigEndian(field, value << (width == 2 ? 16 : 0));
                else BinaryPrimitives.WriteUInt32LittleEndian(field, value);
                for (int i = 0; i < width; i++) bytes[at + i] = field[i];
                break;
            }
            case 4:
            {
                var span = new byte[1 + random.Next(64)];
                if (random.Next(2) == 0) random.NextBytes(span);
                else if (bytes.Count > 0) { int from = At(); for (int i = 0; i < span.Length; i++) span[i] = bytes[(from + i) % bytes.Count]; }
                bytes.InsertRange(At(1), span);
                break;
            }
            default:
            {
                int at = At();
                bytes.RemoveRange(at, Math.Min(bytes.Count - at, 1 + random.Next(64)));
                break;
            }
        }
        return (Kinds[kind], bytes.ToArray());
    }
}
