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
        // Only the 28x28 image leaves: the ink map's arrays go back to the pool.
        var map = InkFinder.Find(image, pooled: true);
        try
        {
            return map.IsBlank ? null : FromInk(map, map.Components.Select(c => c.Label).ToHashSet(), 0, map.Width - 1);
        }
        finally { map.Release(); }
    }

    /// <summary>
    /// The MNIST-style image of the ink of the given components, within columns
    /// [<paramref name="firstColumn"/>, <paramref name="lastColumn"/>] of the map.
    /// </summary>
    public static GrayImage? FromInk(InkMap map, IReadOnlySet<int> components, int firstColumn, int lastColumn)
    {
        int width = map.Width, height = map.Height;
        // Looked up for every inked pixel of the crop: an array by label (no label in the map is
        // larger than its components'), rather than hashing into the set each time.
        var chosen = new bool[map.Components.Select(c => c.Label).DefaultIfEmpty(0).Max() + 1];
        foreach (int label in components) if ((uint)label < (uint)chosen.Length) chosen[label] = true;
        bool IsChosen(int label) => (uint)label < (uint)chosen.Length && chosen[label];
        int left = width, right = -1, top = height, bottom = -1;
        for (int y = 0; y < height; y++)
        {
            var row = map.Ink.AsSpan(y * width + firstColumn, lastColumn - firstColumn + 1);
            for (int x = InkFinder.NextAbove(row, 0, 0); x >= 0; x = InkFinder.NextAbove(row, x + 1, 0))
            {
                if (!IsChosen(map.Labels[y * width + firstColumn + x])) continue;
                left = Math.Min(left, firstColumn + x); right = Math.Max(right, firstColumn + x); top = Math.Min(top, y); bottom = Math.Max(bottom, y);
            }
        }
        if (right < 0) return null;
        int boxWidth = right - left + 1, boxHeight = bottom - top + 1;
        var crop = new float[boxWidth * boxHeight];
        for (int y = 0; y < boxHeight; y++)
            for (int x = 0; x < boxWidth; x++)
            {
                int i = (top + y) * width + left + x;
                if (IsChosen(map.Labels[i])) crop[y * boxWidth + x] = map.Ink[i];
            }
        // A pale character (a pencil digit beside inked ones) is brought up to MNIST's strength;
        // ink that is already strong is left as drawn.
        Strengthen(crop, below: 0.7f);
        float scale = (float)Box / Math.Max(boxWidth, boxHeight);
        int targetWidth = Math.Max(1, (int)MathF.Round(boxWidth * scale)), targetHeight = Math.Max(1, (int)MathF.Round(boxHeight * scale));
        var box = Resample(crop, boxWidth, boxHeight, targetWidth, targetHeight);
        float stroke = StrokeWidth(box, targetWidth, targetHeight);
        if (stroke is > ThickestStroke or < ThinnestStroke)   // 0: so thin that no pixel is half ink
        {
            // Strokes outside MNIST's range (a marker, a blocky 8x8 digit, a hairline) are eroded
            // or dilated in the crop, where a pixel is finer than in the box.
            float radius = Math.Abs(stroke - (stroke > ThickestStroke ? ThinnedStroke : ThickenedStroke)) / 2 / scale;
            crop = ChangeStroke(crop, boxWidth, boxHeight, thicker: stroke < ThinnestStroke, radius);
            Strengthen(crop, below: 1);
            box = Resample(crop, boxWidth, boxHeight, targetWidth, targetHeight);
        }
        // An image enlarged from a few pixels (an 8x8 data set) has soft ramps where MNIST has
        // solid strokes with thin edges: its faint fringe goes back to paper, its core to full
        // ink. (RealHandwriting.Tests' 719 held-out 8x8 digits: 92.2% read right without, 94.2% with.)
        if (map.Scale < 1)
            for (int i = 0; i < box.Length; i++) box[i] = Math.Clamp((box[i] - FringeInk) / (CoreInk - FringeInk), 0, 1);
        return CentreByMass(box, targetWidth, targetHeight);
    }

    /// <summary>Scales the ink so that its 98th percentile is full ink, when that percentile is under <paramref name="below"/>.</summary>
    static void Strengthen(float[] crop, float below)
    {
        var inked = crop.Where(v => v > 0).ToArray();
        if (inked.Length == 0) return;
        float full = ValueAtRank(inked, (int)(inked.Length * 0.98));
        if (full > 0 && full < below) for (int i = 0; i < crop.Length; i++) crop[i] = Math.Min(1, crop[i] / full);
    }

    /// <summary>
    /// The value a sort of <paramref name="values"/> (all in [0, 1]) would put at <paramref name="rank"/>,
    /// without sorting them all: a histogram finds the value's bin, and only that bin's values are
    /// sorted. Sorting every inked pixel of a crop was a tenth of reading a scan.
    /// </summary>
    internal static float ValueAtRank(float[] values, int rank)
    {
        const int Bins = 1024;
        Span<int> counts = stackalloc int[Bins];
        counts.Clear();
        static int Bin(float v) => Math.Clamp((int)(v * Bins), 0, Bins - 1);
        foreach (float v in values) counts[Bin(v)]++;
        int bin = 0, below = 0;
        while (below + counts[bin] <= rank) below += counts[bin++];
        var inBin = new float[counts[bin]];
        int n = 0;
        foreach (float v in values) if (Bin(v) == bin) inBin[n++] = v;
        Array.Sort(inBin);
        return inBin[rank - below];
    }

    // MNIST's own stroke widths in the 28x28 frame (2 x area / perimeter of the pixels over half
    // ink), measured on its test set: 10th percentile 1.36, median 1.84, 90th percentile 2.59.
    // Thick strokes are thinned to MNIST's thick end, not its median: on the real 8x8 digits of
    // RealHandwriting.Tests that read best of the targets tried.
    const float ThinnestStroke = 1.2f, ThickestStroke = 2.9f, ThinnedStroke = 2.5f, ThickenedStroke = 1.8f;
    const float FringeInk = 0.1f, CoreInk = 0.8f;

    /// <summary>Mean stroke width in pixels: for a long stroke, area = length x width and perimeter = 2 x length.</summary>
    static float StrokeWidth(float[] box, int width, int height)
    {
        int area = 0, perimeter = 0;
        bool Inked(int x, int y) => (uint)x < (uint)width && (uint)y < (uint)height && box[y * width + x] > 0.5f;
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                if (!Inked(x, y)) continue;
                area++;
                perimeter += (Inked(x - 1, y) ? 0 : 1) + (Inked(x + 1, y) ? 0 : 1) + (Inked(x, y - 1) ? 0 : 1) + (Inked(x, y + 1) ? 0 : 1);
            }
        return perimeter == 0 ? 0 : 2f * area / perimeter;
    }

    /// <summary>
    /// Grey dilation or erosion by <paramref name="radius"/> pixels over a square window, done as
    /// a row pass and a column pass; a fraction of a pixel blends the next whole radius in.
    /// </summary>
    static float[] ChangeStroke(float[] crop, int width, int height, bool thicker, float radius)
    {
        int whole = (int)MathF.Ceiling(radius);
        if (whole == 0) return crop;
        var rows = new float[crop.Length];
        var both = new float[crop.Length];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                rows[y * width + x] = Extreme(crop, y * width, 1, x, width, whole, thicker);
        for (int x = 0; x < width; x++)
            for (int y = 0; y < height; y++)
                both[y * width + x] = Extreme(rows, x, width, y, height, whole, thicker);
        float blend = radius / whole;
        for (int i = 0; i < both.Length; i++) both[i] = crop[i] * (1 - blend) + both[i] * blend;
        return both;
    }

    /// <summary>The largest or smallest of the values within <paramref name="reach"/> of position <paramref name="at"/> on a line (outside it: paper).</summary>
    static float Extreme(float[] values, int start, int step, int at, int length, int reach, bool largest)
    {
        float extreme = values[start + at * step];
        for (int i = at - reach; i <= at + reach; i++)
        {
            float v = (uint)i < (uint)length ? values[start + i * step] : 0;
            extreme = largest ? Math.Max(extreme, v) : Math.Min(extreme, v);
        }
        return extreme;
    }

    /// <summary>Area-average when shrinking, bilinear when enlarging.</summary>
    internal static float[] Resample(float[] source, int width, int height, int targetWidth, int targetHeight)
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
