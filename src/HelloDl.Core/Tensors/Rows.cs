using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
namespace HelloDl.Tensors;

/// <summary>
/// Work on short rows, done for every image: on one row of class scores (10, 26 or 62 floats), and
/// a layer's bias copied into each row of a batch and its gradient summed over them. Plain loops,
/// compiled with the rest of a step: TensorPrimitives' generic code (and Span.CopyTo) for such rows
/// ran unoptimised, then instrumented, through a one-epoch run or a first evaluation (it is compiled
/// on first use and optimised only later, on the second core), and its set-up outweighs ten floats
/// of work even once it is.
/// </summary>
public static class Rows
{
    /// <summary>Each of the first <paramref name="rows"/> rows of <paramref name="matrix"/> [rows, vector.Length] becomes <paramref name="vector"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Fill(ReadOnlySpan<float> vector, Span<float> matrix, int rows)
    {
        int columns = vector.Length;
        if (matrix.Length < (long)rows * columns) throw new ArgumentException($"Room for {rows} x {columns} values is needed.", nameof(matrix));
        for (int r = 0; r < rows; r++)
        {
            var row = matrix.Slice(r * columns, columns);
            int j = 0;
            for (; j <= columns - Vector256<float>.Count; j += Vector256<float>.Count)
                Vector256.Create(vector.Slice(j, Vector256<float>.Count)).CopyTo(row.Slice(j));
            for (; j < columns; j++) row[j] = vector[j];
        }
    }

    /// <summary>sums[j] += matrix[0, j] + matrix[1, j] + ..., over the first <paramref name="rows"/> rows of matrix [rows, sums.Length], added in row order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AddSums(ReadOnlySpan<float> matrix, int rows, Span<float> sums)
    {
        int columns = sums.Length;
        if (matrix.Length < (long)rows * columns) throw new ArgumentException($"{rows} x {columns} values are needed.", nameof(matrix));
        int j = 0;
        for (; j <= columns - Vector256<float>.Count; j += Vector256<float>.Count)
        {
            var sum = Vector256.Create(sums.Slice(j, Vector256<float>.Count));
            for (int r = 0; r < rows; r++) sum += Vector256.Create(matrix.Slice(r * columns + j, Vector256<float>.Count));
            sum.CopyTo(sums.Slice(j));
        }
        for (; j < columns; j++)
        {
            float sum = sums[j];
            for (int r = 0; r < rows; r++) sum += matrix[r * columns + j];
            sums[j] = sum;
        }
    }

    /// <summary>The index of the row's first maximum (TensorPrimitives.IndexOfMax for finite values); -1 for an empty row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int IndexOfMax(ReadOnlySpan<float> row)
    {
        int best = row.IsEmpty ? -1 : 0;
        for (int i = 1; i < row.Length; i++)
            if (row[i] > row[best]) best = i;
        return best;
    }

    /// <summary>The row's largest value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Max(ReadOnlySpan<float> row)
    {
        float max = float.NegativeInfinity;
        foreach (float v in row) max = Math.Max(max, v);
        return max;
    }

    /// <summary>The row's sum, in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Sum(ReadOnlySpan<float> row)
    {
        float sum = 0;
        foreach (float v in row) sum += v;
        return sum;
    }
}
