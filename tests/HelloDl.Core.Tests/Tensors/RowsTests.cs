using System.Numerics.Tensors;
using HelloDl.Tensors;

namespace HelloDl.Tests.Tensors;

public sealed class RowsTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(10)]
    [InlineData(62)]
    public void Row_maximum_index_sum_agree_with_tensor_primitives(int length)
    {
        var random = new Random(length);
        for (int trial = 0; trial < 200; trial++)
        {
            // Three levels only in every other trial, so the maximum is often tied: the first one counts.
            var row = Enumerable.Range(0, length).Select(_ => trial % 2 == 0 ? random.Next(3) : random.NextSingle() * 20 - 10).ToArray();
            Assert.Equal(TensorPrimitives.IndexOfMax(row), Rows.IndexOfMax(row));
            Assert.Equal(TensorPrimitives.Max(row), Rows.Max(row));
            Assert.Equal(row.Aggregate(0f, (sum, v) => sum + v), Rows.Sum(row));
        }
        Assert.Equal(-1, Rows.IndexOfMax([]));
    }
}
