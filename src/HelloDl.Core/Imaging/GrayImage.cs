using System.Text;

namespace HelloDl.Imaging;

/// <summary>
/// A small 8-bit grey image, 0 = background and 255 = full ink (MNIST's convention).
/// Its text form draws it as text art, like hello-dl's printImgTensor.
/// </summary>
public sealed class GrayImage
{
    // Darker glyphs for more ink; two characters per pixel keep a terminal cell's 1:2 aspect square.
    const string Ramp = " .:-=+*#%@";

    public GrayImage(int rows, int columns, byte[] pixels)
    {
        if (rows <= 0 || columns <= 0) throw new ArgumentOutOfRangeException(nameof(rows), "An image needs at least one row and column.");
        if (pixels.Length != rows * columns) throw new ArgumentException($"Expected {rows * columns} pixels, got {pixels.Length}.", nameof(pixels));
        Rows = rows;
        Columns = columns;
        Pixels = pixels;
    }

    public int Rows { get; }
    public int Columns { get; }

    /// <summary>Row-major pixels; index = row * Columns + column.</summary>
    public byte[] Pixels { get; }

    public byte this[int row, int column] => Pixels[row * Columns + column];

    /// <summary>The image as text art, one text line per pixel row.</summary>
    public string ToTextArt()
    {
        var text = new StringBuilder(Rows * (Columns * 2 + 1));
        for (int r = 0; r < Rows; r++)
        {
            if (r > 0) text.Append('\n');
            for (int c = 0; c < Columns; c++)
            {
                char glyph = Ramp[this[r, c] * (Ramp.Length - 1) / 255];
                text.Append(glyph).Append(glyph);
            }
        }
        return text.ToString();
    }

    public override string ToString() => ToTextArt();
}
