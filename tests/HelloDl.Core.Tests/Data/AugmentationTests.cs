using HelloDl.Data;

namespace HelloDl.Tests.Data;

public sealed class AugmentationTests
{
    static byte[] Square()
    {
        var image = new byte[28 * 28];
        for (int y = 10; y < 16; y++) for (int x = 12; x < 18; x++) image[y * 28 + x] = 200;
        return image;
    }

    /// <summary>The (dx, dy) by which <paramref name="target"/> is <paramref name="source"/> moved, pixel for pixel; null if it is not a pure move.</summary>
    static (int Dx, int Dy)? MoveBetween(byte[] source, byte[] target, int maxShift)
    {
        for (int dy = -maxShift; dy <= maxShift; dy++)
            for (int dx = -maxShift; dx <= maxShift; dx++)
            {
                bool same = true;
                for (int y = 0; y < 28 && same; y++)
                    for (int x = 0; x < 28 && same; x++)
                    {
                        int sy = y - dy, sx = x - dx;
                        byte expected = (uint)sy < 28 && (uint)sx < 28 ? source[sy * 28 + sx] : (byte)0;
                        same = target[y * 28 + x] == expected;
                    }
                if (same) return (dx, dy);
            }
        return null;
    }

    [Fact]
    public void Shift_only_moves_the_image_by_whole_pixels_in_both_directions()
    {
        var shiftOnly = new Augmentation(MaxShift: 2, FlippedPixels: 0, MaxRotationDegrees: 0, MaxScaleChange: 0);
        var source = Square();
        var random = new Random(4);
        var moves = new List<(int Dx, int Dy)>();
        for (int i = 0; i < 40; i++)
        {
            var target = new byte[784];
            shiftOnly.Apply(source, target, 28, 28, random);
            var move = MoveBetween(source, target, 2);
            Assert.True(move is not null, $"augmentation {i} is not a whole-pixel move of the image");
            moves.Add(move.Value);
        }
        // Every offset of -2..2 turns up on each axis: the shift happens, in both directions, and never further.
        Assert.Equal([-2, -1, 0, 1, 2], moves.Select(m => m.Dx).Distinct().Order());
        Assert.Equal([-2, -1, 0, 1, 2], moves.Select(m => m.Dy).Distinct().Order());
    }

    [Fact]
    public void Hello_dl_flips_exactly_five_pixels()
    {
        var flipOnly = Augmentation.HelloDl with { MaxShift = 0 };
        var source = Square();
        var random = new Random(9);
        for (int i = 0; i < 200; i++)
        {
            var target = new byte[784];
            flipOnly.Apply(source, target, 28, 28, random);
            var changed = Enumerable.Range(0, 784).Where(p => source[p] != target[p]).ToList();
            Assert.Equal(5, changed.Count);
            Assert.All(changed, p => Assert.Equal(255 - source[p], target[p]));
        }
    }

    [Fact]
    public void Rotation_and_scaling_keep_the_ink_near_the_centre()
    {
        var source = Square();
        var target = new byte[784];
        new Augmentation(MaxShift: 0, FlippedPixels: 0, MaxRotationDegrees: 15, MaxScaleChange: 0.15f).Apply(source, target, 28, 28, new Random(2));
        double ink = target.Sum(b => b);
        Assert.InRange(ink, source.Sum(b => b) * 0.6, source.Sum(b => b) * 1.4);
        Assert.NotEqual(source, target);
    }
}
