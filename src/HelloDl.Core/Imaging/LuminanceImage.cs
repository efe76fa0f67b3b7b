namespace HelloDl.Imaging;

/// <summary>A photo or scan as brightness: 0 = black, 1 = white, row-major.</summary>
public sealed class LuminanceImage
{
    public LuminanceImage(int width, int height, float[] pixels)
    {
        if (width < 1 || height < 1 || pixels.Length != width * height) throw new ArgumentException("Pixels do not match the size.");
        Width = width;
        Height = height;
        Pixels = pixels;
    }

    public int Width { get; }
    public int Height { get; }
    public float[] Pixels { get; }

    /// <summary>An MNIST-style image (ink 0..255 on black) as brightness: dark ink on white paper.</summary>
    public static LuminanceImage FromInk(GrayImage ink)
    {
        var pixels = new float[ink.Pixels.Length];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = 1 - ink.Pixels[i] / 255f;
        return new LuminanceImage(ink.Columns, ink.Rows, pixels);
    }
}
