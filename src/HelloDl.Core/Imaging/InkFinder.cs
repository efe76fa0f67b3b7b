namespace HelloDl.Imaging;

/// <summary>A connected piece of ink: its pixels' bounding box, area and label in the component map.</summary>
public sealed record InkComponent(int Label, int Left, int Top, int Right, int Bottom, int Area)
{
    public int Width => Right - Left + 1;
    public int Height => Bottom - Top + 1;
}

/// <summary>
/// The ink of a photo or scan: how strongly each pixel is inked (0 = paper, 1 = full ink), and the
/// connected pieces of ink that look like writing (specks and long thin ruled lines removed).
/// </summary>
public sealed class InkMap
{
    internal InkMap(int width, int height, float[] ink, int[] labels, IReadOnlyList<InkComponent> components, float scale)
    {
        Width = width; Height = height; Ink = ink; Labels = labels; Components = components; Scale = scale;
    }

    public int Width { get; }
    public int Height { get; }
    /// <summary>Ink strength per pixel, 0..1.</summary>
    public float[] Ink { get; }
    /// <summary>Per pixel, the <see cref="InkComponent.Label"/> of the kept component its ink belongs to; 0 for paper.</summary>
    internal int[] Labels { get; }
    /// <summary>The pieces of ink kept as writing.</summary>
    public IReadOnlyList<InkComponent> Components { get; }
    /// <summary>Original image pixels per map pixel (large images are analysed shrunk).</summary>
    public float Scale { get; }
    public bool IsBlank => Components.Count == 0;
}

/// <summary>
/// Finds handwriting in real images, as img-ocr's histogram white balance did and then some:
/// the paper's brightness is estimated block by block (so gradients, shadows and tinted paper
/// drop out), light-on-dark boards are inverted, ink is thresholded against the paper's own
/// noise, and connected components separate writing from specks and ruled lines.
/// </summary>
public static class InkFinder
{
    /// <summary>Images are analysed at most this large (longer side), which keeps any scan fast.</summary>
    const int MaxSide = 800;
    /// <summary>
    /// Smaller images (8x8 data sets, thumbnails) are analysed enlarged to at least this (longer
    /// side), so that thresholds and connectivity see strokes several pixels wide, not single
    /// blocks. (A narrow crop of a 1 is not small: its height is what counts.)
    /// </summary>
    const int MinSide = 24;
    /// <summary>Images up to this size (longer side) are taken to hold one character, such as the crops of a data set.</summary>
    const int CharacterSide = 128;
    /// <summary>Spread of the palest quarter of ink values below which paper counts as quiet (no texture).</summary>
    const float QuietPaper = 0.03f;

    public static InkMap Find(LuminanceImage image)
    {
        var (width, height, lum, scale) = Resize(image);
        if (BorderMedian(lum, width, height) < 0.45f)
        {
            // Light ink on a dark board: inverted into a new array, since lum may be the caller's own pixels.
            var inverted = new float[lum.Length];
            for (int i = 0; i < lum.Length; i++) inverted[i] = 1 - lum[i];
            lum = inverted;
        }
        // In an image the size of one character, a long thin stroke is a 1 or an l, not a ruled line.
        bool oneCharacter = Math.Max(image.Width, image.Height) <= CharacterSide;
        var (map, paperNoise, inkSetTheBar) = Analyse(width, height, lum, scale, dropLines: !oneCharacter);
        bool reachesFrame = map.Components.Any(c => c.Left == 0 || c.Top == 0 || c.Right == width - 1 || c.Bottom == height - 1);
        // So much ink that it set the bar for itself, where the paper between the strokes is quiet
        // or the image is the size of one character. (A photo of a wall's texture, noisy all over
        // and larger, stays blank.)
        bool inkEverywhere = inkSetTheBar && (paperNoise < QuietPaper || oneCharacter);
        if (!reachesFrame && !inkEverywhere) return map;
        // A character cut tightly or drawn thick: laid in a margin of its own paper it is sparse ink again.
        var framed = InMargin(width, height, lum, scale, dropLines: !oneCharacter);
        return framed.IsBlank ? map : framed;
    }

    /// <summary>The ink of the image analysed inside a paper margin half its longer side wide, reported in the image's own frame.</summary>
    static InkMap InMargin(int width, int height, float[] lum, float scale, bool dropLines)
    {
        int margin = Math.Max(width, height) / 2, outerWidth = width + 2 * margin, outerHeight = height + 2 * margin;
        float paper = Quantile01(lum, 0.9f);
        var outer = new float[outerWidth * outerHeight];
        Array.Fill(outer, paper);
        for (int y = 0; y < height; y++) lum.AsSpan(y * width, width).CopyTo(outer.AsSpan((y + margin) * outerWidth + margin));
        var (found, _, _) = Analyse(outerWidth, outerHeight, outer, scale, dropLines);
        var ink = new float[width * height];
        var labels = new int[width * height];
        var boxes = new Dictionary<int, InkComponent>();
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int from = (y + margin) * outerWidth + x + margin, to = y * width + x, label = found.Labels[from];
                ink[to] = found.Ink[from];
                labels[to] = label;
                if (label == 0) continue;
                var box = boxes.TryGetValue(label, out var b) ? b : new InkComponent(label, x, y, x, y, 0);
                boxes[label] = new InkComponent(label, Math.Min(box.Left, x), Math.Min(box.Top, y), Math.Max(box.Right, x), Math.Max(box.Bottom, y), box.Area + 1);
            }
        // In the order the analysis found them, as an unframed map lists them.
        var components = found.Components.Where(c => boxes.ContainsKey(c.Label)).Select(c => boxes[c.Label]).ToList();
        return new InkMap(width, height, ink, labels, components, scale);
    }

    /// <summary>
    /// The ink map of brightness already the right way up (dark ink); how noisy its palest pixels
    /// are; and whether the ink's threshold came out over half the strongest ink, as it does when
    /// ink, not paper, is the common tone.
    /// </summary>
    static (InkMap Map, float PaperNoise, bool InkSetTheBar) Analyse(int width, int height, float[] lum, float scale, bool dropLines)
    {
        var paper = PaperBrightness(lum, width, height);
        var ink = new float[lum.Length];
        // The paper's own texture sets the bar: median ink plus many of its deviations. (Ink, its
        // histogram and its strongest value in one pass.)
        Span<int> counts = stackalloc int[QuantileBins];
        counts.Clear();
        float strongest = 0;
        for (int i = 0; i < ink.Length; i++)
        {
            float value = Math.Clamp(1 - lum[i] / Math.Max(paper[i], 0.05f), 0, 1);
            ink[i] = value;
            counts[Bin(value)]++;
            strongest = Math.Max(strongest, value);
        }
        System.Buffers.ArrayPool<float>.Shared.Return(paper);
        float median = Quantile(counts, ink.Length, 0.5f);
        float paperNoise = Quantile(counts, ink.Length, 0.25f) - Quantile(counts, ink.Length, 0.05f);
        counts.Clear();
        foreach (float v in ink) counts[Bin(Math.Abs(v - median))]++;
        float spread = Quantile(counts, ink.Length, 0.5f);
        // Relative to the strongest ink too, but loosely: one pale character next to bold ones must survive.
        float threshold = Math.Max(Math.Max(0.18f, median + 8 * spread), 0.2f * strongest);
        if (strongest < 0.2f) return (new InkMap(width, height, ink, new int[ink.Length], [], scale), paperNoise, threshold > 0.5f * strongest);

        var (labels, all) = Components(ink, width, height, threshold);
        var kept = KeepWriting(all, width, height, dropLines);
        var isKept = new bool[all.Count + 1];
        foreach (var component in kept) isKept[component.Label] = true;
        for (int i = 0; i < labels.Length; i++) if (!isKept[labels[i]]) labels[i] = 0;
        // Hysteresis: the faint edges of a stroke belong to it when they touch it, not otherwise.
        GrowInto(labels, ink, width, height, Math.Max(0.02f, median + 3 * spread), kept, all.Count);
        // The clean ink is written over the raw ink, pixel by pixel: one image-sized array fewer.
        for (int i = 0; i < ink.Length; i++)
            ink[i] = labels[i] != 0 ? Math.Clamp((ink[i] - median) / Math.Max(0.05f, strongest - median), 0, 1) : 0;
        return (new InkMap(width, height, ink, labels, kept, scale), paperNoise, threshold > 0.5f * strongest);
    }

    const int QuantileBins = 4096;

    static int Bin(float value) => Math.Clamp((int)(value * (QuantileBins - 1)), 0, QuantileBins - 1);

    /// <summary>
    /// The value below which <paramref name="fraction"/> of values in [0, 1] lie, from a fine
    /// histogram (to 1/4096): linear time, where sorting every block of a scan was most of its cost.
    /// </summary>
    static float Quantile01(ReadOnlySpan<float> values, float fraction)
    {
        Span<int> counts = stackalloc int[QuantileBins];
        counts.Clear();
        foreach (float v in values) counts[Bin(v)]++;
        return Quantile(counts, values.Length, fraction);
    }

    /// <summary>The quantile from bin counts; <paramref name="firstBin"/> is the bin of counts[0] when only the occupied range is passed.</summary>
    static float Quantile(ReadOnlySpan<int> counts, int total, float fraction, int firstBin = 0)
    {
        int rank = (int)(total * fraction), seen = 0;
        for (int b = 0; b < counts.Length; b++)
            if ((seen += counts[b]) > rank) return (firstBin + b + 0.5f) / (QuantileBins - 1);
        return 1;
    }

    /// <summary>
    /// Extends each labelled component into touching pixels whose ink exceeds <paramref name="low"/>,
    /// but only a few pixels beyond its own box, so it cannot creep along a ruled line it crosses.
    /// </summary>
    static void GrowInto(int[] labels, float[] ink, int width, int height, float low, List<InkComponent> components, int largestLabel)
    {
        // Indexed by label (labels run 1..largestLabel): this runs for every neighbour of every ink pixel.
        var boxes = new (int Left, int Top, int Right, int Bottom)[largestLabel + 1];
        foreach (var c in components)
        {
            int margin = Math.Max(2, Math.Max(c.Width, c.Height) / 20);
            boxes[c.Label] = (c.Left - margin, c.Top - margin, c.Right + margin, c.Bottom + margin);
        }
        var queue = new Queue<int>();
        for (int i = 0; i < labels.Length; i++) if (labels[i] != 0) queue.Enqueue(i);
        while (queue.Count > 0)
        {
            int p = queue.Dequeue(), x = p % width, y = p / width;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++)
                {
                    int nx = x + dx, ny = y + dy;
                    if ((uint)nx >= (uint)width || (uint)ny >= (uint)height) continue;
                    int q = ny * width + nx;
                    var box = boxes[labels[p]];
                    if (labels[q] == 0 && ink[q] > low && nx >= box.Left && nx <= box.Right && ny >= box.Top && ny <= box.Bottom)
                    {
                        labels[q] = labels[p];
                        queue.Enqueue(q);
                    }
                }
        }
    }

    /// <summary>
    /// The image at the size it is analysed at: shrunk by area averaging when large, enlarged
    /// bilinearly when tiny, else the image's own pixels (which the analysis only reads).
    /// </summary>
    static (int Width, int Height, float[] Lum, float Scale) Resize(LuminanceImage image)
    {
        int longer = Math.Max(image.Width, image.Height);
        if (longer < MinSide) return Enlarge(image, (MinSide + longer - 1) / longer);
        if (longer <= MaxSide) return (image.Width, image.Height, image.Pixels, 1);
        float scale = (float)longer / MaxSide;
        int width = Math.Max(1, (int)(image.Width / scale)), height = Math.Max(1, (int)(image.Height / scale));
        var lum = new float[width * height];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int x0 = (int)(x * scale), x1 = Math.Min(image.Width, (int)((x + 1) * scale)), y0 = (int)(y * scale), y1 = Math.Min(image.Height, (int)((y + 1) * scale));
                float sum = 0; int count = 0;
                for (int sy = y0; sy < Math.Max(y1, y0 + 1); sy++)
                    for (int sx = x0; sx < Math.Max(x1, x0 + 1); sx++) { sum += image.Pixels[sy * image.Width + sx]; count++; }
                lum[y * width + x] = sum / count;
            }
        return (width, height, lum, scale);
    }

    static (int Width, int Height, float[] Lum, float Scale) Enlarge(LuminanceImage image, int factor)
    {
        int width = image.Width * factor, height = image.Height * factor;
        return (width, height, MnistPreprocessor.Resample(image.Pixels, image.Width, image.Height, width, height), 1f / factor);
    }

    static float BorderMedian(float[] lum, int width, int height)
    {
        var border = new List<float>();
        for (int x = 0; x < width; x++) { border.Add(lum[x]); border.Add(lum[(height - 1) * width + x]); }
        for (int y = 0; y < height; y++) { border.Add(lum[y * width]); border.Add(lum[y * width + width - 1]); }
        border.Sort();
        return border[border.Count / 2];
    }

    /// <summary>
    /// The paper's brightness everywhere: the 90th percentile of each block (ink is dark and
    /// sparse, so it barely moves it), the brightest of each block's neighbours (a block that a
    /// thick stroke fills is not dark paper), then interpolated smoothly between block centres.
    /// The array comes from the shared pool (it may be longer than the image) and goes back to it:
    /// the kernel clearing fresh pages for image-sized arrays was a sixth of a scan's reading.
    /// </summary>
    static float[] PaperBrightness(float[] lum, int width, int height)
    {
        int block = Math.Max(8, Math.Min(width, height) / 6);
        int blocksX = (width + block - 1) / block, blocksY = (height + block - 1) / block;
        var levels = new float[blocksX * blocksY];
        Span<int> counts = stackalloc int[QuantileBins];
        counts.Clear();
        for (int by = 0; by < blocksY; by++)
            for (int bx = 0; bx < blocksX; bx++)
            {
                // Only the occupied range of bins is read and cleared: a block of bare paper fills a few hundred of 4,096.
                int x0 = bx * block, x1 = Math.Min(width, (bx + 1) * block), y0 = by * block, y1 = Math.Min(height, (by + 1) * block);
                int lowest = QuantileBins, highest = -1;
                for (int y = y0; y < y1; y++)
                    foreach (float v in lum.AsSpan(y * width + x0, x1 - x0))
                    {
                        int bin = Bin(v);
                        counts[bin]++;
                        lowest = Math.Min(lowest, bin);
                        highest = Math.Max(highest, bin);
                    }
                var occupied = counts[lowest..(highest + 1)];
                levels[by * blocksX + bx] = Quantile(occupied, (x1 - x0) * (y1 - y0), 0.9f, lowest);
                occupied.Clear();
            }
        var brightest = new float[levels.Length];
        for (int by = 0; by < blocksY; by++)
            for (int bx = 0; bx < blocksX; bx++)
            {
                float level = 0;
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++)
                        if ((uint)(by + dy) < (uint)blocksY && (uint)(bx + dx) < (uint)blocksX) level = Math.Max(level, levels[(by + dy) * blocksX + bx + dx]);
                brightest[by * blocksX + bx] = level;
            }
        levels = brightest;
        // Bilinear between block centres; each column's blocks and weight are the same on every row.
        var column0 = new int[width]; var column1 = new int[width]; var columnWeight = new float[width];
        for (int x = 0; x < width; x++)
        {
            float fx = Math.Clamp((x + 0.5f) / block - 0.5f, 0, blocksX - 1);
            column0[x] = (int)fx;
            column1[x] = Math.Min(column0[x] + 1, blocksX - 1);
            columnWeight[x] = fx - column0[x];
        }
        var paper = System.Buffers.ArrayPool<float>.Shared.Rent(width * height);
        for (int y = 0; y < height; y++)
        {
            float fy = Math.Clamp((y + 0.5f) / block - 0.5f, 0, blocksY - 1);
            int y0 = (int)fy, y1 = Math.Min(y0 + 1, blocksY - 1);
            float ay = fy - y0;
            var row = paper.AsSpan(y * width, width);
            for (int x = 0; x < width; x++)
            {
                float ax = columnWeight[x];
                int x0 = column0[x], x1 = column1[x];
                row[x] = (levels[y0 * blocksX + x0] * (1 - ax) + levels[y0 * blocksX + x1] * ax) * (1 - ay)
                    + (levels[y1 * blocksX + x0] * (1 - ax) + levels[y1 * blocksX + x1] * ax) * ay;
            }
        }
        return paper;
    }

    /// <summary>8-connected components of pixels above the threshold (iterative flood fill).</summary>
    static (int[] Labels, List<InkComponent> Components) Components(float[] ink, int width, int height, float threshold)
    {
        var labels = new int[ink.Length];
        var components = new List<InkComponent>();
        var stack = new Stack<int>();
        for (int start = 0; start < ink.Length; start++)
        {
            if (labels[start] != 0 || ink[start] <= threshold) continue;
            int label = components.Count + 1;
            int left = width, right = -1, top = height, bottom = -1, area = 0;
            labels[start] = label;
            stack.Push(start);
            while (stack.Count > 0)
            {
                int p = stack.Pop(), x = p % width, y = p / width;
                area++;
                left = Math.Min(left, x); right = Math.Max(right, x); top = Math.Min(top, y); bottom = Math.Max(bottom, y);
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++)
                    {
                        int nx = x + dx, ny = y + dy;
                        if ((uint)nx >= (uint)width || (uint)ny >= (uint)height) continue;
                        int q = ny * width + nx;
                        if (labels[q] == 0 && ink[q] > threshold) { labels[q] = label; stack.Push(q); }
                    }
            }
            components.Add(new InkComponent(label, left, top, right, bottom, area));
        }
        return (labels, components);
    }

    /// <summary>Drops ruled lines (long and thin) when asked, then specks (tiny next to the writing).</summary>
    static List<InkComponent> KeepWriting(List<InkComponent> components, int width, int height, bool dropLines)
    {
        var notLines = components.Where(c => !dropLines || (!(c.Width >= 0.4 * width && c.Height <= Math.Max(4, 0.04 * c.Width))
                                          && !(c.Height >= 0.4 * height && c.Width <= Math.Max(4, 0.04 * c.Height)))).ToList();
        if (notLines.Count == 0) return [];
        int largest = notLines.Max(c => c.Area);
        int minimum = Math.Max(6, largest / 25);
        return notLines.Where(c => c.Area >= minimum).ToList();
    }
}
