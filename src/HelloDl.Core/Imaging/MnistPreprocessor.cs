namespace HelloDl.Imaging;

/// <summary>
/// Turns a photo or scan of one character into the 28x28 input the models were trained on, the
/// way MNIST itself was made: find the ink (dark on light is inverted to light on dark), crop to
/// its bounding box, scale to fit 20x20 keeping the aspect, and centre by centre of mass in 28x28.
/// </summary>
public static class MnistPreprocessor
{
    const int Frame = 28, Box = 20;
    /// <summary>Below this contrast between paper and darkest ink, the image counts as blank.</summary>
    const float MinimumContrast = 0.15f;
    /// <summary>Ink weaker than this (relative to the darkest ink) is paper texture or noise.</summary>
    const float NoiseFloor = 0.1f;

    /// <summary>The MNIST-style image, or null when the image holds no ink.</summary>
    public static GrayImage? ToMnist(LuminanceImage image)
    {
        var ink = InkMap(image);
        if (ink is null) return null;
        int width = image.Width, height = image.Height;
        // Bounding box of the ink.
        int left = width, right = -1, top = height, bottom = -1;
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                if (ink[y * width + x] > 0)
                {
                    left = Math.Min(left, x); right = Math.Max(right, x);
                    top = Math.Min(top, y); bottom = Math.Max(bottom, y);
                }
        if (right < 0) return null;
        int boxWidth = right - left + 1, boxHeight = bottom - top + 1;
        float scale = (float)Box / Math.Max(boxWidth, boxHeight);
        int targetWidth = Math.Max(1, (int)MathF.Round(boxWidth * scale)), targetHeight = Math.Max(1, (int)MathF.Round(boxHeight * scale));
        var scaled = Resample(ink, width, left, top, boxWidth, boxHeight, targetWidth, targetHeight);
        return CentreByMass(scaled, targetWidth, targetHeight);
    }

    /// <summary>Ink strength 0..1 per pixel with the paper at 0, or null when there is no contrast.</summary>
    internal static float[]? InkMap(LuminanceImage image)
    {
        var pixels = image.Pixels;
        var sorted = (float[])pixels.Clone();
        Array.Sort(sorted);
        float median = sorted[sorted.Length / 2];
        bool darkInk = median >= 0.5f;   // mostly light: paper is light, ink dark
        float paper = darkInk ? median : 1 - median;
        float strongest = darkInk ? 1 - sorted[0] : sorted[^1];
        float paperInk = 1 - paper;
        float contrast = strongest - paperInk;
        if (contrast < MinimumContrast) return null;
        var ink = new float[pixels.Length];
        for (int i = 0; i < pixels.Length; i++)
        {
            float strength = darkInk ? 1 - pixels[i] : pixels[i];
            float v = (strength - paperInk) / contrast;
            ink[i] = v < NoiseFloor ? 0 : Math.Min(1, v);
        }
        return ink;
    }

    /// <summary>Area-average when shrinking, bilinear when enlarging.</summary>
    static float[] Resample(float[] source, int stride, int left, int top, int width, int height, int targetWidth, int targetHeight)
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
                            sum += w * source[(top + y) * stride + left + x];
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
                    float Pixel(int x, int y) => source[(top + y) * stride + left + x];
                    value = (Pixel(x0, y0) * (1 - ax) + Pixel(x1, y0) * ax) * (1 - ay) + (Pixel(x0, y1) * (1 - ax) + Pixel(x1, y1) * ax) * ay;
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
