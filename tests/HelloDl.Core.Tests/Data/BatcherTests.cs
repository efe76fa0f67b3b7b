using HelloDl.Data;
using HelloDl.Kernels;
using HelloDl.Tests.Kernels;

namespace HelloDl.Tests.Data;

[Collection(nameof(GlobalKernelSettings))]
public sealed class BatcherTests
{
    [Fact]
    public void Batcher_normalises_shuffles_and_reuses_its_buffers()
    {
        var set = MnistData.Test.Select(Enumerable.Range(0, 100).ToArray());
        var batcher = new Batcher(set, 32, new ImageInput(InputNormalization.Unit), random: new Random(1));
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

    [Theory]
    [InlineData(2)]
    [InlineData(3)]   // pieces of unequal size
    public void Batches_filled_by_several_threads_hold_every_row_and_label_in_order(int threads)
    {
        var set = MnistData.Test.Select(Enumerable.Range(0, 700).ToArray());
        var encoder = new ImageInput(InputNormalization.Mnist);
        var batcher = new Batcher(set, 256, encoder, random: new Random(3));
        batcher.Shuffle();
        int saved = Parallelism.MaxThreads;
        var rows = new List<float[]>();
        var labels = new List<int>();
        try
        {
            Parallelism.MaxThreads = threads;
            for (int b = 0; b < batcher.BatchCount; b++)
            {
                var (input, targets) = batcher.Batch(b);
                for (int i = 0; i < targets.Length; i++) rows.Add(input.Data.Slice(i * 784, 784).ToArray());
                labels.AddRange(targets);
            }
        }
        finally { Parallelism.MaxThreads = saved; }
        // The batcher's order is a Fisher-Yates shuffle from its random source.
        var order = Enumerable.Range(0, set.Count).ToArray();
        new Random(3).Shuffle(order);
        Assert.Equal(set.Count, rows.Count);
        for (int r = 0; r < rows.Count; r++)
        {
            Assert.Equal(set.GetLabel(order[r]), labels[r]);
            Assert.True(Encode(encoder, set, order[r]).AsSpan().SequenceEqual(rows[r]), $"Row {r} is not item {order[r]}'s input.");
        }
    }

    static float[] Encode(ImageInput encoder, Dataset set, int item)
    {
        var row = new float[784];
        encoder.Write(set, item, row);
        return row;
    }
}
