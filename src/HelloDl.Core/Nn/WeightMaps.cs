namespace HelloDl.Nn;

/// <summary>
/// A model's first layer as pictures, one map per output: the linear model's and the MLP's
/// per-pixel weights (28x28), the CNN's first-layer filters (k x k, first input channel).
/// </summary>
/// <param name="Parameter">The weight drawn, e.g. 'fc.weight'.</param>
/// <param name="Captions">The class each map scores when the layer's outputs are the classes, else the output's index.</param>
/// <param name="AreFilters">Convolution filters, which are small and best drawn enlarged.</param>
public sealed record WeightMaps(string Parameter, IReadOnlyList<float[]> Maps, int Rows, int Columns, IReadOnlyList<string> Captions, bool AreFilters)
{
    public static WeightMaps Of(Model model)
    {
        var (name, weight) = model.Parameters.First(p => p.Name.EndsWith(".weight", StringComparison.Ordinal));
        ReadOnlySpan<float> values = weight.Data;
        int maps = weight.Dim(0);
        bool filters = weight.Rank == 4;                                           // [out, in, k, k]
        int rows = filters ? weight.Dim(2) : 28, columns = filters ? weight.Dim(3) : weight.Dim(1) / 28;   // or [out, 784]
        int stride = weight.Length / maps, size = rows * columns;
        var images = new List<float[]>(maps);
        for (int m = 0; m < maps; m++) images.Add(values.Slice(m * stride, size).ToArray());
        IReadOnlyList<string> captions = filters || maps != model.ClassNames.Count && maps != 1
            ? Enumerable.Range(0, maps).Select(m => $"{m}").ToList()
            : maps == 1 ? [$"{model.ClassNames[1]} vs {model.ClassNames[0]}"] : model.ClassNames.ToList();
        return new WeightMaps(name, images, rows, columns, captions, filters);
    }
}
