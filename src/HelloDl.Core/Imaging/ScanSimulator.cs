using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace HelloDl.Imaging;

/// <summary>
/// Renders MNIST-style digits as the scans and phone photos people really make: enlarged 3-10x,
/// dark ink (black, blue or pencil) on light, tinted paper with a lighting gradient, noise, specks
/// and sometimes faint ruled lines, placed anywhere, slightly rotated and blurred. Realistic test
/// material for the whole pipeline from MNIST's test digits (never its training digits).
/// </summary>
public static class ScanSimulator
{
    /// <summary>One character on a page (of a random size unless <paramref name="pageSize"/> is given); the image is the caller's to dispose.</summary>
    public static Image<Rgb24> SingleCharacter(GrayImage glyph, Random random, (int Width, int Height)? pageSize = null)
    {
        float scale = 3 + 7 * random.NextSingle();
        if (pageSize is var (fixedWidth, fixedHeight)) scale = Math.Min(scale, (Math.Min(fixedWidth, fixedHeight) - 20) / 28f);
        int size = (int)(28 * scale);
        if (size < 28) throw new ArgumentException($"A {pageSize} page is too small for a character.", nameof(pageSize));
        int width = pageSize?.Width ?? size + random.Next(20, 400), height = pageSize?.Height ?? size + random.Next(20, 300);
        var page = Paper(width, height, random);
        Draw(page, glyph, random.Next(0, width - size), random.Next(0, height - size), scale, Angle(random), InkColor(random), Pen(random));
        return Finish(page, random);
    }

    /// <summary>A line of characters with varying gaps, left to right.</summary>
    public static Image<Rgb24> Line(IReadOnlyList<GrayImage> glyphs, Random random)
    {
        float scale = 3 + 3 * random.NextSingle();
        int size = (int)(28 * scale);
        // MNIST digits fill about 20 of their 28 pixels; gaps run from touching-close to wide.
        var gaps = glyphs.Select(_ => (int)(size * (-0.12f + 0.55f * random.NextSingle()))).ToArray();
        int width = glyphs.Count * size + gaps.Sum() + random.Next(40, 200), height = size + random.Next(40, 160);
        var page = Paper(width, height, random);
        var ink = InkColor(random);
        var pen = Pen(random);
        int x = random.Next(10, 30 + (width - glyphs.Count * size - gaps.Sum()) / 2);
        int baseline = random.Next(5, Math.Max(6, height - size - 5));
        for (int i = 0; i < glyphs.Count; i++)
        {
            Draw(page, glyphs[i], x, baseline + random.Next(-size / 12, size / 12 + 1), scale * (0.9f + 0.2f * random.NextSingle()), Angle(random), ink, pen);
            x += size + gaps[i];
        }
        return Finish(page, random);
    }

    /// <summary>Renders one character and writes it to <paramref name="path"/> (PNG, or JPEG by extension).</summary>
    public static void WriteSingleCharacter(GrayImage glyph, Random random, string path, int jpegQuality = 85, (int Width, int Height)? pageSize = null)
    {
        using var page = SingleCharacter(glyph, random, pageSize);
        Save(page, path, jpegQuality);
    }

    /// <summary>Renders a line of characters and writes it to <paramref name="path"/> (PNG, or JPEG by extension).</summary>
    public static void WriteLine(IReadOnlyList<GrayImage> glyphs, Random random, string path, int jpegQuality = 85)
    {
        using var page = Line(glyphs, random);
        Save(page, path, jpegQuality);
    }

    /// <summary>Saves as PNG, or as JPEG at the given quality when the name ends in .jpg.</summary>
    public static void Save(Image<Rgb24> page, string path, int jpegQuality = 85)
    {
        if (path.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".jpeg", StringComparison.OrdinalIgnoreCase))
            page.Save(path, new JpegEncoder { Quality = jpegQuality });
        else page.Save(path);
    }

    /// <summary>How a pen changes MNIST's strokes: as written, a thick marker, or a fine pen.</summary>
    enum PenKind { AsWritten, Thick, Fine }

    static PenKind Pen(Random random) => (PenKind)random.Next(3);

    static float Angle(Random random) => (random.NextSingle() * 2 - 1) * 8 * MathF.PI / 180;

    static (float R, float G, float B) InkColor(Random random) => random.Next(3) switch
    {
        0 => (0.08f, 0.08f, 0.1f),     // black pen
        1 => (0.1f, 0.15f, 0.55f),     // blue pen
        _ => (0.35f, 0.35f, 0.38f),    // pencil
    };

    static float[,,] Paper(int width, int height, Random random)
    {
        var page = new float[height, width, 3];
        float brightness = 0.8f + 0.17f * random.NextSingle();
        var tint = (R: 1 - 0.06f * random.NextSingle(), G: 1 - 0.06f * random.NextSingle(), B: 1 - 0.1f * random.NextSingle());
        float gradientX = (random.NextSingle() - 0.5f) * 0.25f, gradientY = (random.NextSingle() - 0.5f) * 0.25f;
        bool ruled = random.Next(3) == 0;
        int ruleSpacing = random.Next(30, 60);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                float light = brightness + gradientX * (x / (float)width - 0.5f) + gradientY * (y / (float)height - 0.5f) + Gaussian(random) * 0.025f;
                if (ruled && y % ruleSpacing == 0) light -= 0.12f;
                page[y, x, 0] = light * tint.R; page[y, x, 1] = light * tint.G; page[y, x, 2] = light * tint.B;
            }
        for (int speck = random.Next(0, 8); speck > 0; speck--)
        {
            int sx = random.Next(width), sy = random.Next(height), radius = random.Next(0, 2);
            for (int y = Math.Max(0, sy - radius); y <= Math.Min(height - 1, sy + radius); y++)
                for (int x = Math.Max(0, sx - radius); x <= Math.Min(width - 1, sx + radius); x++)
                    for (int c = 0; c < 3; c++) page[y, x, c] *= 0.4f;
        }
        return page;
    }

    /// <summary>Lays the glyph's ink onto the page, rotated about its centre, by bilinear sampling.</summary>
    static void Draw(float[,,] page, GrayImage glyph, int left, int top, float scale, float angle, (float R, float G, float B) ink, PenKind pen)
    {
        int height = page.GetLength(0), width = page.GetLength(1), size = (int)(28 * scale);
        float cos = MathF.Cos(angle), sin = MathF.Sin(angle), centre = size / 2f;
        const float Strength = 0.95f;
        for (int y = Math.Max(0, top); y < Math.Min(height, top + size); y++)
            for (int x = Math.Max(0, left); x < Math.Min(width, left + size); x++)
            {
                float dx = x - left - centre, dy = y - top - centre;
                float gx = (cos * dx + sin * dy + centre) / scale - 0.5f, gy = (-sin * dx + cos * dy + centre) / scale - 0.5f;
                float alpha = pen switch
                {
                    PenKind.Thick => Math.Max(Math.Max(Sample(glyph, gx - 0.7f, gy), Sample(glyph, gx + 0.7f, gy)), Math.Max(Sample(glyph, gx, gy - 0.7f), Sample(glyph, gx, gy + 0.7f))),
                    PenKind.Fine => Math.Clamp((Sample(glyph, gx, gy) - 0.4f) / 0.6f, 0, 1),
                    _ => Sample(glyph, gx, gy),
                } * Strength;
                if (alpha <= 0) continue;
                page[y, x, 0] = page[y, x, 0] * (1 - alpha) + ink.R * alpha;
                page[y, x, 1] = page[y, x, 1] * (1 - alpha) + ink.G * alpha;
                page[y, x, 2] = page[y, x, 2] * (1 - alpha) + ink.B * alpha;
            }
    }

    static float Sample(GrayImage glyph, float x, float y)
    {
        int x0 = (int)MathF.Floor(x), y0 = (int)MathF.Floor(y);
        float ax = x - x0, ay = y - y0;
        float Pixel(int px, int py) => (uint)px < 28u && (uint)py < 28u ? glyph[py, px] / 255f : 0;
        return (Pixel(x0, y0) * (1 - ax) + Pixel(x0 + 1, y0) * ax) * (1 - ay) + (Pixel(x0, y0 + 1) * (1 - ax) + Pixel(x0 + 1, y0 + 1) * ax) * ay;
    }

    static Image<Rgb24> Finish(float[,,] page, Random random)
    {
        int height = page.GetLength(0), width = page.GetLength(1);
        var image = new Image<Rgb24>(width, height);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                image[x, y] = new Rgb24(Byte(page[y, x, 0]), Byte(page[y, x, 1]), Byte(page[y, x, 2]));
        float blur = 0.3f + 1.2f * random.NextSingle();
        image.Mutate(c => c.GaussianBlur(blur));
        return image;
    }

    static byte Byte(float v) => (byte)Math.Clamp(v * 255, 0, 255);

    static float Gaussian(Random random) => MathF.Sqrt(-2 * MathF.Log(1 - random.NextSingle())) * MathF.Cos(2 * MathF.PI * random.NextSingle());
}
