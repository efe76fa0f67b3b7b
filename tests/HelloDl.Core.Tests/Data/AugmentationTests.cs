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

    [Fact]
    public void Shift_only_moves_the_image_by_whole_pixels()
    {
        var shiftOnly = new Augmentation(MaxShift: 2, FlippedPixels: 0, MaxRotationDegrees: 0, MaxScaleChange: 0);
        var source = Square();
        var target = new byte[784];
        shiftOnly.Apply(source, target, 28, 28, new Random(4));
        Assert.Equal(source.Sum(b => b), target.Sum(b => b));   // nothing blurred or lost
        int dx = Enumerable.Range(0, 784).First(i => target[i] != 0) % 28 - 12;
        Assert.InRange(dx, -2, 2);
    }

    [Fact]
    public void Hello_dl_flips_exactly_five_pixels()
    {
        var flipOnly = Augmentation.HelloDl with { MaxShift = 0 };
        var source = Square();
        var target = new byte[784];
        flipOnly.Apply(source, target, 28, 28, new Random(9));
        int changed = Enumerable.Range(0, 784).Count(i => source[i] != target[i]);
        Assert.InRange(changed, 1, 5);   // a pixel drawn twice flips back
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

    [Fact]
    public void Batcher_normalises_shuffles_and_reuses_its_buffers()
    {
        var set = MnistData.Test.Select(Enumerable.Range(0, 100).ToArray());
        var batcher = new Batcher(set, 32, InputNormalization.Unit, random: new Random(1));
        Assert.Equal(4, batcher.BatchCount);
        var (input, targets) = batcher.Batch(0);
        Assert.Equal([32, 1, 28, 28], input.Shape);
        Assert.Equal(set.GetPixels(0)[200] / 255f, input.Data[200], 6);
        Assert.Equal(set.GetLabel(0), targets[0]);
        Assert.Equal([4, 1, 28, 28], batcher.Batch(3).Input.Shape);
        Assert.Same(input, batcher.Batch(1).Input);
        batcher.Shuffle();
        var order = Enumerable.Range(0, 4).SelectMany(b => batcher.Batch(b).Targets.ToArray()).ToArray();
        Assert.Equal(Enumerable.Range(0, 100).Select(set.GetLabel).Order(), order.Order());
        Assert.NotEqual(Enumerable.Range(0, 100).Select(set.GetLabel), order);
    }
}
