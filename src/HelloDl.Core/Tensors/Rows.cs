using System.Runtime.CompilerServices;
namespace HelloDl.Tensors;

/// <summary>
/// Work on one short row (a row of class scores: 10, 26 or 62 floats), done for every image. Plain
/// loops, precompiled with the rest of HelloDl: TensorPrimitives' generic code for such rows ran
/// unoptimised through a one-epoch run or a first evaluation (it is compiled on first use and
/// optimised only later), and its set-up outweighs ten floats of work even once it is.
/// </summary>
public static class Rows
{
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
