using System.Runtime.CompilerServices;
namespace HelloDl.Data;

/// <summary>
/// How a model turns the items of a data set into its input rows: normalised pixels for the
/// image models, hashed n-gram features or characters for the text models. The model owns its
/// encoder (and a model file stores its settings), so training and classification always
/// encode alike.
/// </summary>
public interface IInputEncoder
{
    /// <summary>The shape of one item's input, without the batch dimension (e.g. [1, 28, 28]).</summary>
    int[] ItemShape { get; }

    /// <summary>What the encoder reads, for messages: 'images', 'documents'.</summary>
    string ItemNoun { get; }

    /// <summary>Whether the encoder reads the items of <paramref name="data"/> (an image model reads no text).</summary>
    bool Reads(Dataset data);

    /// <summary>Writes item <paramref name="item"/> of <paramref name="data"/> as one input row (<see cref="ItemShape"/>'s size).</summary>
    void Write(Dataset data, int item, Span<float> destination);
}

/// <summary>An encoder of text: it also encodes a document that belongs to no data set (a file, a string).</summary>
public interface ITextEncoder : IInputEncoder
{
    void WriteDocument(string document, Span<float> destination);
}

/// <summary>
/// An encoder whose items carry their own targets, one per output row, rather than their label:
/// a language model, whose targets are each step's next symbol.
/// </summary>
public interface ISequenceTargets : IInputEncoder
{
    /// <summary>Output rows (and targets) per item: one per time step.</summary>
    int TargetsPerItem { get; }

    /// <summary>Item <paramref name="item"/>'s targets, in step order.</summary>
    void WriteTargets(Dataset data, int item, Span<int> targets);

    /// <summary>The items to train on, cut from a corpus (e.g. fixed windows of its text).</summary>
    Dataset Windows(Dataset corpus);
}

/// <summary>Grey images as normalised pixels, [1, rows, columns].</summary>
public sealed class ImageInput(InputNormalization normalization, int rows = 28, int columns = 28) : IInputEncoder
{
    public InputNormalization Normalization => normalization;
    public int[] ItemShape => [1, rows, columns];
    public string ItemNoun => "images";
    public bool Reads(Dataset data) => data is ImageDataset images && images.Rows == rows && images.Columns == columns;
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Write(Dataset data, int item, Span<float> destination) => normalization.Apply(((ImageDataset)data).GetPixels(item), destination);

    /// <summary>Writes the pixels of an image that belongs to no data set (a file, an augmented copy).</summary>
    public void WritePixels(ReadOnlySpan<byte> pixels, Span<float> destination) => normalization.Apply(pixels, destination);
}
