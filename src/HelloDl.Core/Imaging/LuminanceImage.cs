using System.Buffers;

namespace HelloDl.Imaging;

/// <summary>A photo or scan as brightness: 0 = black, 1 = white, row-major.</summary>
public sealed class LuminanceImage
{
    public LuminanceImage(int width, int height, float[] pixels) : this(width, height, pixels, pooled: false) { }

    /// <summary>
    /// An image whose pixels, when <paramref name="pooled"/>, were rented from the shared pool: the
    /// array may be longer than the image and goes back with <see cref="Release"/>. Such images
    /// stay inside HelloDl (reading a file to its 28x28 input), so users only see exact arrays.
    /// </summary>
    internal LuminanceImage(int width, int height, float[] pixels, bool pooled)
    {
        if (width < 1 || height < 1 || (pooled ? pixels.Length < width * height : pixels.Length != width * height))
            throw new ArgumentException("Pixels do not match the size.");
        Width = width;
        Height = height;
        Pixels = pixels;
        _pooled = pooled;
    }

    bool _pooled;

    /// <summary>Gives a pooled image's pixels back; the image must not be read afterwards. Does nothing otherwise.</summary>
    internal void Release()
    {
        if (!_pooled) return;
        _pooled = false;
        ArrayPool<float>.Shared.Return(Pixels);
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
