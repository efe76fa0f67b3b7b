using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace HelloDl.Imaging;

/// <summary>
/// PNG pictures of data and models, drawn with ImageSharp and the built-in bitmap font: single
/// images, labelled grids, weight maps and heat maps.
/// </summary>
public static class Pictures
{
    static readonly Rgb24 White = new(255, 255, 255), Black = new(0, 0, 0), Red = new(200, 30, 30), Grey = new(120, 120, 120);

    /// <summary>One MNIST-style image as a person sees a scan: dark ink on white (or as stored, light on black), enlarged.</summary>
    public static void SaveImage(GrayImage image, string path, bool inkOnWhite = true, int scale = 1)
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

    /// <summary>
    /// Images in a grid, each with a caption under it (e.g. its label, or 'actual->predicted');
    /// captions in <paramref name="highlight"/> are drawn red.
    /// </summary>
    public static void SaveGrid(IReadOnlyList<GrayImage> images, IReadOnlyList<string> captions, string path, int columns = 10, int scale = 2,
        IReadOnlySet<int>? highlight = null)
    {
        if (images.Count == 0) throw new ArgumentException("No images to draw.", nameof(images));
        columns = Math.Max(1, Math.Min(columns, images.Count));
        int rows = (images.Count + columns - 1) / columns;
        int cellWidth = Math.Max(28 * scale, captions.Max(c => BitmapFont.MeasureWidth(c))) + 8;
        int cellHeight = 28 * scale + BitmapFont.GlyphHeight + 10;
        using var canvas = new Image<Rgb24>(columns * cellWidth, rows * cellHeight, White);
        for (int i = 0; i < images.Count; i++)
        {
            int left = i % columns * cellWidth + 4, top = i / columns * cellHeight + 4;
            var image = images[i];
            int offset = (cellWidth - 8 - image.Columns * scale) / 2;
            for (int y = 0; y < image.Rows * scale; y++)
                for (int x = 0; x < image.Columns * scale; x++)
                {
                    byte v = (byte)(255 - image[y / scale, x / scale]);
                    canvas[left + offset + x, top + y] = new Rgb24(v, v, v);
                }
            var color = highlight?.Contains(i) == true ? Red : Black;
            int textLeft = left + (cellWidth - 8 - BitmapFont.MeasureWidth(captions[i])) / 2;
            BitmapFont.Draw(captions[i], textLeft, top + image.Rows * scale + 3, 1, (x, y) => Plot(canvas, x, y, color));
        }
        canvas.Save(path);
    }

    /// <summary>A signed map (weights) as an image: blue negative, white zero, red positive, scaled to the largest magnitude.</summary>
    public static void SaveSignedMaps(IReadOnlyList<float[]> maps, int mapRows, int mapColumns, IReadOnlyList<string> captions, string path, int scale, int columns)
    {
        columns = Math.Max(1, Math.Min(columns, maps.Count));
        int rows = (maps.Count + columns - 1) / columns;
        int cellWidth = Math.Max(mapColumns * scale, captions.Max(c => BitmapFont.MeasureWidth(c))) + 8;
        int cellHeight = mapRows * scale + BitmapFont.GlyphHeight + 10;
        using var canvas = new Image<Rgb24>(columns * cellWidth, rows * cellHeight, White);
        for (int m = 0; m < maps.Count; m++)
        {
            var map = maps[m];
            float largest = Math.Max(1e-12f, map.Max(v => Math.Abs(v)));
            int left = m % columns * cellWidth + 4, top = m / columns * cellHeight + 4;
            for (int y = 0; y < mapRows * scale; y++)
                for (int x = 0; x < mapColumns * scale; x++)
                    canvas[left + x, top + y] = Diverging(map[y / scale * mapColumns + x / scale] / largest);
            BitmapFont.Draw(captions[m], left, top + mapRows * scale + 3, 1, (x, y) => Plot(canvas, x, y, Black));
        }
        canvas.Save(path);
    }

    /// <summary>A confusion matrix as a heat map with counts, rows actual and columns predicted.</summary>
    public static void SaveHeatMap(int[,] counts, IReadOnlyList<string> classNames, string path)
    {
        int classes = classNames.Count, cell = Math.Max(28, BitmapFont.MeasureWidth(counts.Cast<int>().Max().ToString()) + 6);
        int margin = Math.Max(BitmapFont.MeasureWidth("actual"), classNames.Max(n => BitmapFont.MeasureWidth(n))) + 12;
        using var canvas = new Image<Rgb24>(margin + classes * cell + 4, margin + classes * cell + 4, White);
        BitmapFont.Draw("predicted", margin, 2, 1, (x, y) => Plot(canvas, x, y, Grey));
        BitmapFont.Draw("actual", 2, margin - 10, 1, (x, y) => Plot(canvas, x, y, Grey));
        for (int a = 0; a < classes; a++)
        {
            int rowTotal = Enumerable.Range(0, classes).Sum(p => counts[a, p]);
            BitmapFont.Draw(classNames[a], margin + a * cell + (cell - BitmapFont.MeasureWidth(classNames[a])) / 2, margin - 10, 1, (x, y) => Plot(canvas, x, y, Black));
            BitmapFont.Draw(classNames[a], 4, margin + a * cell + (cell - 7) / 2, 1, (x, y) => Plot(canvas, x, y, Black));
            for (int p = 0; p < classes; p++)
            {
                float share = rowTotal == 0 ? 0 : (float)counts[a, p] / rowTotal;
                // Diagonal in blue shades, mistakes in red shades: errors stand out.
                var shade = a == p ? Mix(White, new Rgb24(40, 90, 200), share) : Mix(White, new Rgb24(210, 40, 40), Math.Min(1, share * 5));
                int left = margin + p * cell, top = margin + a * cell;
                for (int y = 1; y < cell; y++) for (int x = 1; x < cell; x++) canvas[left + x, top + y] = shade;
                string text = counts[a, p].ToString();
                var ink = share > 0.5f && a == p ? White : Black;
                BitmapFont.Draw(text, left + (cell - BitmapFont.MeasureWidth(text)) / 2, top + (cell - 7) / 2, 1, (x, y) => Plot(canvas, x, y, ink));
            }
        }
        canvas.Save(path);
    }

    /// <summary>Line charts of series (e.g. loss and accuracy per epoch), each in its own panel with its range printed.</summary>
    public static void SaveCurves(IReadOnlyList<(string Name, IReadOnlyList<double> Values)> series, string path, int width = 480, int panelHeight = 160)
    {
        var colors = new[] { new Rgb24(40, 90, 200), new Rgb24(210, 40, 40), new Rgb24(30, 150, 60), new Rgb24(150, 60, 170) };
        using var canvas = new Image<Rgb24>(width, series.Count * (panelHeight + 24) + 4, White);
        for (int s = 0; s < series.Count; s++)
        {
            var (name, values) = series[s];
            var finite = values.Where(double.IsFinite).ToList();
            int top = s * (panelHeight + 24) + 4, left = 40, right = width - 8, bottom = top + 16 + panelHeight - 16;
            double min = finite.Count > 0 ? finite.Min() : 0, max = finite.Count > 0 ? finite.Max() : 1;
            if (max - min < 1e-12) { max += 0.5; min -= 0.5; }
            BitmapFont.Draw($"{name}: {Format(min)} - {Format(max)}", left, top, 1, (x, y) => Plot(canvas, x, y, Black));
            for (int x = left; x <= right; x++) canvas[x, bottom] = Grey;
            for (int y = top + 12; y <= bottom; y++) canvas[left, y] = Grey;
            var color = colors[s % colors.Length];
            (int X, int Y)? previous = null;
            for (int i = 0; i < values.Count; i++)
            {
                if (!double.IsFinite(values[i])) { previous = null; continue; }
                int x = values.Count == 1 ? (left + right) / 2 : left + (int)Math.Round((right - left) * (double)i / (values.Count - 1));
                int y = bottom - (int)Math.Round((bottom - top - 14) * (values[i] - min) / (max - min));
                if (previous is { } p) Line(canvas, p.X, p.Y, x, y, color);
                for (int dy = -1; dy <= 1; dy++) for (int dx = -1; dx <= 1; dx++) Plot(canvas, x + dx, y + dy, color);
                previous = (x, y);
            }
        }
        canvas.Save(path);
    }

    /// <summary>
    /// The part of a photo or scan in the box, widened by a little paper on each side (within the
    /// image), as a grey PNG: a character cut out of a page, to be read again on its own.
    /// </summary>
    public static void SaveCrop(LuminanceImage image, int x, int y, int width, int height, string path)
    {
        int margin = Math.Max(2, Math.Max(width, height) / 10);
        int left = Math.Clamp(x - margin, 0, image.Width - 1), top = Math.Clamp(y - margin, 0, image.Height - 1);
        int right = Math.Clamp(x + width + margin, left + 1, image.Width), bottom = Math.Clamp(y + height + margin, top + 1, image.Height);
        using var crop = new Image<L8>(right - left, bottom - top);
        for (int cy = 0; cy < crop.Height; cy++)
            for (int cx = 0; cx < crop.Width; cx++)
                crop[cx, cy] = new L8((byte)Math.Clamp(MathF.Round(image.Pixels[(top + cy) * image.Width + left + cx] * 255), 0, 255));
        crop.SaveAsPng(path);
    }

    /// <summary>
    /// A copy of the image with a box around each character and its label under it (green when
    /// confident, red when not), like hello-dl's boxed.png.
    /// </summary>
    public static void SaveAnnotated(LuminanceImage image, IReadOnlyList<(int X, int Y, int Width, int Height, string Label, bool Confident)> characters, string path)
    {
        using var canvas = new Image<Rgb24>(image.Width, image.Height);
        for (int y = 0; y < image.Height; y++)
            for (int x = 0; x < image.Width; x++)
            {
                byte v = (byte)Math.Clamp(image.Pixels[y * image.Width + x] * 255, 0, 255);
                canvas[x, y] = new Rgb24(v, v, v);
            }
        var green = new Rgb24(20, 150, 40);
        foreach (var c in characters)
        {
            var color = c.Confident ? green : Red;
            int thickness = Math.Max(1, Math.Min(c.Width, c.Height) / 40);
            for (int t = 0; t < thickness; t++)
            {
                Line(canvas, c.X - t, c.Y - t, c.X + c.Width + t, c.Y - t, color);
                Line(canvas, c.X - t, c.Y + c.Height + t, c.X + c.Width + t, c.Y + c.Height + t, color);
                Line(canvas, c.X - t, c.Y - t, c.X - t, c.Y + c.Height + t, color);
                Line(canvas, c.X + c.Width + t, c.Y - t, c.X + c.Width + t, c.Y + c.Height + t, color);
            }
            int scale = Math.Max(1, c.Height / 28);
            BitmapFont.Draw(c.Label, c.X + (c.Width - BitmapFont.MeasureWidth(c.Label, scale)) / 2, c.Y + c.Height + thickness + 3, scale, (x, y) => Plot(canvas, x, y, color));
        }
        canvas.Save(path);
    }

    static string Format(double v) => Math.Abs(v) >= 100 ? v.ToString("F0") : Math.Abs(v) >= 1 ? v.ToString("F2") : v.ToString("F4");

    static void Line(Image<Rgb24> canvas, int x0, int y0, int x1, int y1, Rgb24 color)
    {
        int steps = Math.Max(Math.Abs(x1 - x0), Math.Abs(y1 - y0));
        for (int i = 0; i <= steps; i++)
            Plot(canvas, x0 + (x1 - x0) * i / Math.Max(1, steps), y0 + (y1 - y0) * i / Math.Max(1, steps), color);
    }

    static void Plot(Image<Rgb24> canvas, int x, int y, Rgb24 color)
    {
        if ((uint)x < (uint)canvas.Width && (uint)y < (uint)canvas.Height) canvas[x, y] = color;
    }

    static Rgb24 Mix(Rgb24 a, Rgb24 b, float t) =>
        new((byte)(a.R + (b.R - a.R) * t), (byte)(a.G + (b.G - a.G) * t), (byte)(a.B + (b.B - a.B) * t));

    static Rgb24 Diverging(float v) => v >= 0 ? Mix(White, new Rgb24(200, 30, 30), Math.Min(1, v)) : Mix(White, new Rgb24(30, 70, 200), Math.Min(1, -v));
}
