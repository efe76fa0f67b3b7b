namespace HelloDl.Imaging;

/// <summary>
/// Turns the ink of one character into the 28x28 input the models were trained on, the way MNIST
/// itself was made: crop to the ink's bounding box, scale to fit 20x20 keeping the aspect, and
/// centre by centre of mass in 28x28. <see cref="InkFinder"/> finds the ink first.
/// </summary>
public static class MnistPreprocessor
{
    const int Frame = 28, Box = 20;

    /// <summary>The MNIST-style image of a photo or scan of one character, or null when it holds no writing.</summary>
    public static GrayImage? ToMnist(LuminanceImage image)
    {
        var map = InkFinder.Find(image);
        if (map.IsBlank) return null;
        return FromInk(map, map.Components.Select(c => c.Label).ToHashSet(), 0, map.Width - 1);
    }

    /// <summary>
    /// The MNIST-style image of the ink of the given components, within columns
    /// [<paramref name="firstColumn"/>, <paramref name="lastColumn"/>] of the map.
    /// </summary>
    public static GrayImage? FromInk(InkMap map, IReadOnlySet<int> components, int firstColumn, int lastColumn)
    {
        int width = map.Width, height = map.Height;
        int left = width, right = -1, top = height, bottom = -1;
        for (int y = 0; y < height; y++)
            for (int x = firstColumn; x <= lastColumn; x++)
            {
                int i = y * width + x;
                if (map.Ink[i] <= 0 || !components.Contains(map.Labels[i])) continue;
                left = Math.Min(left, x); right = Math.Max(right, x); top = Math.Min(top, y); bottom = Math.Max(bottom, y);
            }
        if (right < 0) return null;
        int boxWidth = right - left + 1, boxHeight = bottom - top + 1;
        var crop = new float[boxWidth * boxHeight];
        for (int y = 0; y < boxHeight; y++)
            for (int x = 0; x < boxWidth; x++)
            {
                int i = (top + y) * width + left + x;
                if (components.Contains(map.Labels[i])) crop[y * boxWidth + x] = map.Ink[i];
            }
        // A pale character (a pencil digit beside inked ones) is brought up to MNIST's strength;
        // ink that is already strong is left as drawn.
        var inked = crop.Where(v => v > 0).Order().ToArray();
        float full = inked[(int)(inked.Length * 0.98)];
        if (full is > 0 and < 0.7f) for (int i = 0; i < crop.Length; i++) crop[i] = Math.Min(1, crop[i] / full);
        float scale = (float)Box / Math.Max(boxWidth, boxHeight);
        int targetWidth = Math.Max(1, (int)MathF.Round(boxWidth * scale)), targetHeight = Math.Max(1, (int)MathF.Round(boxHeight * scale));
        return CentreByMass(Resample(crop, boxWidth, boxHeight, targetWidth, targetHeight), targetWidth, targetHeight);
    }

    /// <summary>Area-average when shrinking, bilinear when enlarging.</summary>
    static float[] Resample(float[] source, int width, int height, int targetWidth, int targetHeight)
    {
        var target = new float[targetWidth * targetHeight];
        float sx = (float)width / targetWidth, sy = (float)height / targetHeight;
        for (int ty = 0; ty < targetHeight; ty++)
            for (int tx = 0; tx < targetWidth; tx++)
            {
                float value;
                if (sx > 1 || sy > 1)
                {
                    float x0 = tx * sx, x1 = x0 + sx, y0 = ty * sy, y1 = y0 + sy, sum = 0, area = 0;
                    for (int y = (int)y0; y < Math.Min(height, (int)MathF.Ceiling(y1)); y++)
                    {
                        float wy = Math.Min(y + 1, y1) - Math.Max(y, y0);
                        for (int x = (int)x0; x < Math.Min(width, (int)MathF.Ceiling(x1)); x++)
                        {
                            float w = wy * (Math.Min(x + 1, x1) - Math.Max(x, x0));
                            sum += w * source[y * width + x];
                            area += w;
                        }
                    }
                    value = area > 0 ? sum / area : 0;
                }
                else
                {
                    float fx = Math.Clamp((tx + 0.5f) * sx - 0.5f, 0, width - 1), fy = Math.Clamp((ty + 0.5f) * sy - 0.5f, 0, height - 1);
                    int x0 = (int)fx, y0 = (int)fy, x1 = Math.Min(x0 + 1, width - 1), y1 = Math.Min(y0 + 1, height - 1);
                    float ax = fx - x0, ay = fy - y0;
                    value = (source[y0 * width + x0] * (1 - ax) + source[y0 * width + x1] * ax) * (1 - ay)
                          + (source[y1 * width + x0] * (1 - ax) + source[y1 * width + x1] * ax) * ay;
                }
                target[ty * targetWidth + tx] = value;
            }
        return target;
    }

    /// <summary>Places the box in 28x28 with its centre of mass at pixel (14, 14), as MNIST did, staying inside the frame.</summary>
    static GrayImage CentreByMass(float[] box, int width, int height)
    {
        double mass = 0, mx = 0, my = 0;
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                float v = box[y * width + x];
                mass += v; mx += v * x; my += v * y;
            }
        int offsetX = Math.Clamp((int)Math.Round(Frame / 2.0 - (mass > 0 ? mx / mass : width / 2.0)), 0, Frame - width);
        int offsetY = Math.Clamp((int)Math.Round(Frame / 2.0 - (mass > 0 ? my / mass : height / 2.0)), 0, Frame - height);
        var pixels = new byte[Frame * Frame];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                pixels[(offsetY + y) * Frame + offsetX + x] = (byte)Math.Clamp(MathF.Round(box[y * width + x] * 255), 0, 255);
        return new GrayImage(Frame, Frame, pixels);
    }
}
