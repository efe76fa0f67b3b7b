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

    [Theory]
    [InlineData(1, 10)]     // shorter than a vector: the scalar tail alone
    [InlineData(64, 128)]   // the MLP's first layer at batch 64
    [InlineData(3, 13)]     // a vector and a tail
    public void A_bias_fills_every_row_and_its_gradient_sums_them_in_row_order(int rows, int columns)
    {
        var random = new Random(rows * 100 + columns);
        var bias = Enumerable.Range(0, columns).Select(_ => random.NextSingle() - 0.5f).ToArray();
        // One row more than asked for: it must be left as it was.
        var matrix = Enumerable.Range(0, (rows + 1) * columns).Select(_ => random.NextSingle() * 20 - 10).ToArray();
        var untouched = matrix[(rows * columns)..];
        var sums = bias.ToArray();
        var expected = bias.ToArray();
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < columns; j++) expected[j] += matrix[r * columns + j];   // the order the per-row additions had
        Rows.AddSums(matrix, rows, sums);
        Assert.Equal(expected, sums);

        Rows.Fill(bias, matrix, rows);
        for (int r = 0; r < rows; r++) Assert.Equal(bias, matrix[(r * columns)..((r + 1) * columns)]);
        Assert.Equal(untouched, matrix[(rows * columns)..]);
        Assert.Throws<ArgumentException>(() => Rows.Fill(bias, new float[rows * columns - 1], rows));
        Assert.Throws<ArgumentException>(() => Rows.AddSums(new float[rows * columns - 1], rows, sums));
    }
}
