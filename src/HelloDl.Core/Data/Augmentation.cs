namespace HelloDl.Data;

/// <summary>
/// Random distortions of 28x28 training images so a model learns shapes rather than pixel
/// positions. hello-dl shifted by -2..+2 pixels and flipped 5 random pixels; small rotations and
/// scaling are added here. One affine warp (bilinear) does shift, rotation and scale together.
/// </summary>
public sealed record Augmentation(int MaxShift = 2, int FlippedPixels = 5, float MaxRotationDegrees = 10, float MaxScaleChange = 0.1f)
{
    /// <summary>hello-dl's chapter 7 augmentation only.</summary>
    public static Augmentation HelloDl => new(MaxShift: 2, FlippedPixels: 5, MaxRotationDegrees: 0, MaxScaleChange: 0);

    /// <summary>Writes a distorted copy of <paramref name="source"/> (rows x columns bytes) to <paramref name="target"/>.</summary>
    public void Apply(ReadOnlySpan<byte> source, Span<byte> target, int rows, int columns, Random random)
    {
        float shiftX = random.Next(-MaxShift, MaxShift + 1), shiftY = random.Next(-MaxShift, MaxShift + 1);
        float angle = (random.NextSingle() * 2 - 1) * MaxRotationDegrees * MathF.PI / 180;
        float scale = 1 + (random.NextSingle() * 2 - 1) * MaxScaleChange;
        float cos = MathF.Cos(angle) / scale, sin = MathF.Sin(angle) / scale;
        float cx = (columns - 1) / 2f, cy = (rows - 1) / 2f;
        for (int y = 0; y < rows; y++)
            for (int x = 0; x < columns; x++)
            {
                // Inverse map: where in the source does this target pixel come from?
                float dx = x - cx - shiftX, dy = y - cy - shiftY;
                float sx = cos * dx + sin * dy + cx, sy = -sin * dx + cos * dy + cy;
                target[y * columns + x] = Sample(source, rows, columns, sx, sy);
            }
        for (int i = 0; i < FlippedPixels; i++)
        {
            int at = random.Next(rows * columns);
            target[at] = (byte)(255 - target[at]);
        }
    }

    static byte Sample(ReadOnlySpan<byte> image, int rows, int columns, float x, float y)
    {
        int x0 = (int)MathF.Floor(x), y0 = (int)MathF.Floor(y);
        float fx = x - x0, fy = y - y0;
        float top = Pixel(image, rows, columns, x0, y0) * (1 - fx) + Pixel(image, rows, columns, x0 + 1, y0) * fx;
        float bottom = Pixel(image, rows, columns, x0, y0 + 1) * (1 - fx) + Pixel(image, rows, columns, x0 + 1, y0 + 1) * fx;
        return (byte)Math.Clamp(MathF.Round(top * (1 - fy) + bottom * fy), 0, 255);
    }

    static float Pixel(ReadOnlySpan<byte> image, int rows, int columns, int x, int y) =>
        (uint)x < (uint)columns && (uint)y < (uint)rows ? image[y * columns + x] : 0;
}
