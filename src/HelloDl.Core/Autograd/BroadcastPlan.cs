using HelloDl.Tensors;

namespace HelloDl.Autograd;

/// <summary>
/// How two shapes broadcast: the output shape and, for each output position in order, the flat
/// index it reads in each input. Shapes are aligned at their last dimension, as in NumPy.
/// </summary>
public sealed class BroadcastPlan
{
    readonly int[] _dims = new int[4];      // output, padded to 4-D
    readonly int[] _strideA = new int[4];   // 0 where a is stretched
    readonly int[] _strideB = new int[4];

    BroadcastPlan(int[] outputShape) => OutputShape = outputShape;

    public int[] OutputShape { get; }

    public static BroadcastPlan For(int[] a, int[] b)
    {
        int rank = Math.Max(a.Length, b.Length);
        var output = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = DimFromEnd(a, rank - 1 - i), db = DimFromEnd(b, rank - 1 - i);
            if (da != db && da != 1 && db != 1)
                throw new ArgumentException($"Shapes {Tensor.ShapeText(a)} and {Tensor.ShapeText(b)} do not broadcast.");
            output[i] = Math.Max(da, db);
        }
        var plan = new BroadcastPlan(output);
        int strideA = 1, strideB = 1;
        for (int axis = 3; axis >= 0; axis--)
        {
            int fromEnd = 3 - axis;
            int da = DimFromEnd(a, fromEnd), db = DimFromEnd(b, fromEnd);
            plan._dims[axis] = Math.Max(da, db);
            plan._strideA[axis] = da == 1 ? 0 : strideA;
            plan._strideB[axis] = db == 1 ? 0 : strideB;
            strideA *= da;
            strideB *= db;
        }
        return plan;
    }

    static int DimFromEnd(int[] shape, int fromEnd) => fromEnd < shape.Length ? shape[shape.Length - 1 - fromEnd] : 1;

    public PairEnumerator Pairs() => new(this);

    /// <summary>Walks the output in row-major order, yielding (index in a, index in b).</summary>
    public struct PairEnumerator
    {
        readonly BroadcastPlan _plan;
        int _i0, _i1, _i2, _i3 = -1;

        internal PairEnumerator(BroadcastPlan plan) => _plan = plan;

        public readonly PairEnumerator GetEnumerator() => this;

        public (int A, int B) Current { get; private set; }

        public bool MoveNext()
        {
            var d = _plan._dims;
            if (++_i3 == d[3])
            {
                _i3 = 0;
                if (++_i2 == d[2])
                {
                    _i2 = 0;
                    if (++_i1 == d[1])
                    {
                        _i1 = 0;
                        if (++_i0 == d[0]) return false;
                    }
                }
            }
            if (d[0] * d[1] * d[2] * d[3] == 0) return false;
            var sa = _plan._strideA; var sb = _plan._strideB;
            Current = (_i0 * sa[0] + _i1 * sa[1] + _i2 * sa[2] + _i3 * sa[3],
                       _i0 * sb[0] + _i1 * sb[1] + _i2 * sb[2] + _i3 * sb[3]);
            return true;
        }
    }
}
