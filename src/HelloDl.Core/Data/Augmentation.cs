namespace HelloDl.Data;

/// <summary>
/// Random distortions of 28x28 training images so a model learns shapes rather than pixel
/// positions. hello-dl shifted by -2..+2 pixels and flipped 5 random pixels (here 5 distinct
/// ones); small rotations and scaling are added here. One affine warp (bilinear) does shift,
/// rotation and scale together.
/// </summary>
public sealed record Augmentation(int MaxShift = 2, int FlippedPixels = 5, float MaxRotationDegrees = 10, float MaxScaleChange = 0.1f,
    bool ScanEffects = false)
{
    /// <summary>hello-dl's chapter 7 augmentation only.</summary>
    public static Augmentation HelloDl => new(MaxShift: 2, FlippedPixels: 5, MaxRotationDegrees: 0, MaxScaleChange: 0);

    /// <summary>
    /// What real scans do to a character, on top of the geometric distortions: thicker or
    /// thinner strokes (other pens), blur, paler ink and noise. No flipped pixels: scans have
    /// specks, but the preprocessing removes them.
    /// </summary>
    public static Augmentation Scan => new(MaxShift: 2, FlippedPixels: 0, MaxRotationDegrees: 12, MaxScaleChange: 0.15f, ScanEffects: true);

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
        if (ScanEffects) ApplyScanEffects(target, rows, columns, random);
        // Distinct pixels: one drawn twice would flip back.
        int flips = Math.Clamp(FlippedPixels, 0, rows * columns);
        Span<int> flipped = flips <= 256 ? stackalloc int[flips] : new int[flips];
        for (int i = 0; i < flips; i++)
        {
            int at;
            do at = random.Next(rows * columns); while (flipped[..i].Contains(at));
            flipped[i] = at;
            target[at] = (byte)(255 - target[at]);
        }
    }

    static void ApplyScanEffects(Span<byte> image, int rows, int columns, Random random)
    {
        var ink = new float[rows * columns];
        for (int i = 0; i < ink.Length; i++) ink[i] = image[i] / 255f;
        int stroke = random.Next(4);   // 0: thinner, 1: thicker, 2-3: as drawn
        if (stroke < 2) ink = Neighbourhood(ink, rows, columns, thicker: stroke == 1, strength: 0.4f + 0.6f * random.NextSingle());
        if (random.Next(2) == 0) ink = Blur(ink, rows, columns, 0.3f + 0.5f * random.NextSingle());
        float contrast = 0.75f + 0.25f * random.NextSingle(), noise = 0.08f * random.NextSingle();
        for (int i = 0; i < ink.Length; i++)
        {
            if (ink[i] <= 0) continue;   // the paper around a character is cleaned by preprocessing
            float v = ink[i] * contrast + noise * (random.NextSingle() * 2 - 1);
            image[i] = (byte)Math.Clamp(MathF.Round(v * 255), 0, 255);
        }
        for (int i = 0; i < ink.Length; i++) if (ink[i] <= 0) image[i] = 0;
    }

    /// <summary>Grey dilation (thicker) or erosion (thinner) over 3x3, blended in by <paramref name="strength"/>.</summary>
    static float[] Neighbourhood(float[] ink, int rows, int columns, bool thicker, float strength)
    {
        var result = new float[ink.Length];
        for (int y = 0; y < rows; y++)
            for (int x = 0; x < columns; x++)
            {
                float extreme = ink[y * columns + x];
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++)
                    {
                        int ny = y + dy, nx = x + dx;
                        float v = (uint)ny < (uint)rows && (uint)nx < (uint)columns ? ink[ny * columns + nx] : 0;
                        extreme = thicker ? Math.Max(extreme, v) : Math.Min(extreme, v);
                    }
                result[y * columns + x] = ink[y * columns + x] + strength * (extreme - ink[y * columns + x]);
            }
        return result;
    }

    /// <summary>A 3x3 blur: each pixel mixed with its neighbours' mean by <paramref name="amount"/>.</summary>
    static float[] Blur(float[] ink, int rows, int columns, float amount)
    {
        var result = new float[ink.Length];
        for (int y = 0; y < rows; y++)
            for (int x = 0; x < columns; x++)
            {
                float sum = 0;
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++)
                    {
                        int ny = y + dy, nx = x + dx;
                        sum += (uint)ny < (uint)rows && (uint)nx < (uint)columns ? ink[ny * columns + nx] : 0;
                    }
                result[y * columns + x] = ink[y * columns + x] * (1 - amount) + sum / 9 * amount;
            }
        return result;
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
