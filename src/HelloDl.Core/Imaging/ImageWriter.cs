using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace HelloDl.Imaging;

/// <summary>Writes images as PNG (or by extension: .jpg, .bmp, ...) through ImageSharp.</summary>
public static class ImageWriter
{
    /// <summary>Writes an MNIST-style image as it looks to a person: dark ink on white when <paramref name="inkOnWhite"/>.</summary>
    public static void Save(GrayImage image, string path, bool inkOnWhite = false, int scale = 1)
    {
        using var output = new Image<L8>(image.Columns * scale, image.Rows * scale);
        for (int y = 0; y < output.Height; y++)
            for (int x = 0; x < output.Width; x++)
            {
                byte ink = image[y / scale, x / scale];
                output[x, y] = new L8(inkOnWhite ? (byte)(255 - ink) : ink);
            }
        output.Save(path);
    }
}
