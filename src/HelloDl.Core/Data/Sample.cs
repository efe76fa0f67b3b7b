using HelloDl.Imaging;

namespace HelloDl.Data;

/// <summary>One labelled image taken from a data set.</summary>
public sealed class Sample
{
    public Sample(string dataset, int index, int label, string className, GrayImage image)
    {
        Dataset = dataset;
        Index = index;
        Label = label;
        ClassName = className;
        Image = image;
    }

    public string Dataset { get; }
    public int Index { get; }
    /// <summary>Class index, 0-based.</summary>
    public int Label { get; }
    public string ClassName { get; }
    public GrayImage Image { get; }

    public override string ToString() => $"{Dataset}[{Index}] = '{ClassName}'";
}
