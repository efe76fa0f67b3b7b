using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using HelloDl.Tensors;

namespace HelloDl.Autograd;

/// <summary>
/// A linear layer over sparse inputs: y[n] = b + Σ weight · table[id] over the (id, weight)
/// pairs of row n of <c>features</c> [N, K, 2], pairs with a negative id being padding. Equal to
/// a dense Linear over a one-hot-weighted input of table.Dim(0) columns, but its cost follows the
/// features a document has, not the hash space. The features are data, never trained.
/// </summary>
public sealed class EmbeddingBag : Op
{
    readonly Tensor _features, _table, _bias;

    EmbeddingBag(Tensor features, Tensor table, Tensor bias) { _features = features; _table = table; _bias = bias; }

    /// <exception cref="ArgumentException">Shapes that do not fit, or an id outside the table.</exception>
    public static Tensor Apply(Tape tape, Tensor features, Tensor table, Tensor bias)
    {
        if (features.Rank != 3 || features.Dim(2) != 2 || table.Rank != 2 || bias.Rank != 1 || bias.Dim(0) != table.Dim(1))
            throw new ArgumentException($"EmbeddingBag needs features [N, K, 2], table [ids, D], bias [D]; got {features}, {table}, {bias}.");
        int rows = features.Dim(0), pairs = features.Dim(1), width = table.Dim(1), ids = table.Dim(0);
        var y = tape.NewTensor(rows, width);
        var output = y.Data;
        ReadOnlySpan<float> f = features.Data, t = table.Data, b = bias.Data;
        for (int n = 0; n < rows; n++)
        {
            var row = output.Slice(n * width, width);
            b.CopyTo(row);
            for (int k = 0; k < pairs; k++)
            {
                float id = f[(n * pairs + k) * 2];
                if (id < 0) continue;
                if (id >= ids || id != MathF.Floor(id)) throw new ArgumentException($"Feature id {id} (row {n}) is not an index into the table's {ids} rows.", nameof(features));
                TensorPrimitives.MultiplyAdd(t.Slice((int)id * width, width), f[(n * pairs + k) * 2 + 1], row, row);
            }
        }
        tape.Record(new EmbeddingBag(features, table, bias), y, table, bias);
        return y;
    }

    internal override void Backward(Tape tape)
    {
        ReadOnlySpan<float> dy = Output!.Grad, f = _features.Data;
        int rows = _features.Dim(0), pairs = _features.Dim(1), width = _table.Dim(1);
        if (_table.RequiresGrad)
        {
            // Only the rows of ids that occur get a gradient: the scatter is as sparse as the input.
            var dt = tape.GradOf(_table);
            for (int n = 0; n < rows; n++)
                for (int k = 0; k < pairs; k++)
                {
                    float id = f[(n * pairs + k) * 2];
                    if (id < 0) continue;
                    var target = dt.Slice((int)id * width, width);
                    TensorPrimitives.MultiplyAdd(dy.Slice(n * width, width), f[(n * pairs + k) * 2 + 1], target, target);
                }
        }
        if (_bias.RequiresGrad)
        {
            var db = tape.GradOf(_bias);
            for (int n = 0; n < rows; n++) TensorPrimitives.Add(db, dy.Slice(n * width, width), db);
        }
    }
}
