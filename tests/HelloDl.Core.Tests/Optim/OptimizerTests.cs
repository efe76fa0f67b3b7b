using HelloDl.Optim;

namespace HelloDl.Tests.Optim;

public sealed class OptimizerTests
{
    [Fact]
    public void Sgd_with_momentum_keeps_a_velocity()
    {
        float[] w = [1f], g = [0.5f];
        var sgd = new Sgd(w, g, momentum: 0.9f);
        sgd.Step(0.1f);                       // v = 0.5, w = 1 - 0.05
        Assert.Equal(0.95f, w[0], 6);
        sgd.Step(0.1f);                       // v = 0.9·0.5 + 0.5 = 0.95, w = 0.95 - 0.095
        Assert.Equal(0.855f, w[0], 6);
        Assert.Equal(0.95f, sgd.State["velocity"][0], 6);
    }

    [Fact]
    public void Nesterov_looks_ahead()
    {
        float[] w = [1f], g = [0.5f];
        var sgd = new Sgd(w, g, momentum: 0.9f, nesterov: true);
        sgd.Step(0.1f);                       // v = 0.5; step with g + μv = 0.95
        Assert.Equal(1 - 0.095f, w[0], 6);
    }

    [Fact]
    public void Sgd_weight_decay_adds_lambda_w_to_the_gradient()
    {
        float[] w = [2f], g = [0f];
        new Sgd(w, g, momentum: 0, weightDecay: 0.5f).Step(0.1f);
        Assert.Equal(2 - 0.1f * 1f, w[0], 6);
    }

    [Fact]
    public void Adam_first_step_moves_each_weight_by_the_learning_rate()
    {
        float[] w = [1f, 1f], g = [0.3f, -20f];
        new Adam(w, g).Step(0.001f);
        Assert.Equal(0.999f, w[0], 5);
        Assert.Equal(1.001f, w[1], 5);
    }

    [Fact]
    public void AdamW_decays_weights_directly_and_Adam_through_the_gradient()
    {
        float[] w1 = [1f], g1 = [0f];
        new Adam(w1, g1, weightDecay: 0.1f, decoupled: true).Step(0.01f);
        Assert.Equal(1 - 0.01f * 0.1f, w1[0], 6);     // zero gradient: only the decay moves it

        float[] w2 = [1f], g2 = [0f];
        new Adam(w2, g2, weightDecay: 0.1f).Step(0.01f);
        Assert.Equal(1 - 0.01f, w2[0], 5);            // decay became a gradient, normalised by Adam
    }

    [Fact]
    public void Schedules()
    {
        Assert.Equal(0.1f, LearningRateSchedule.Constant.At(1000, 0.1f));
        var step = new StepSchedule(10, 0.5f);
        Assert.Equal(1f, step.At(9, 1f));
        Assert.Equal(0.5f, step.At(10, 1f));
        Assert.Equal(0.25f, step.At(25, 1f));
        var cosine = new CosineSchedule(100);
        Assert.Equal(1f, cosine.At(0, 1f), 6);
        Assert.Equal(0.5f, cosine.At(50, 1f), 6);
        Assert.Equal(0f, cosine.At(100, 1f), 6);
        var warm = new WarmupSchedule(4, LearningRateSchedule.Constant);
        Assert.Equal([0.25f, 0.5f, 0.75f, 1f, 1f], Enumerable.Range(0, 5).Select(s => warm.At(s, 1f)));
    }

    [Fact]
    public void Clipping_scales_the_whole_gradient_to_the_norm()
    {
        float[] g = [3f, 4f];
        Assert.Equal(5f, GradientClipping.ClipByNorm(g, 1f));
        Assert.Equal(0.6f, g[0], 6);
        Assert.Equal(0.8f, g[1], 6);
        float[] small = [0.3f, 0.4f];
        GradientClipping.ClipByNorm(small, 1f);
        Assert.Equal([0.3f, 0.4f], small);
    }

    /// <summary>
    /// Buffers long enough for the threads to share (and with an odd length, so a scalar tail is
    /// left), two frozen ranges, three steps: every element against a plain loop of the formulas.
    /// </summary>
    [Theory]
    [InlineData(OptimizerKind.Sgd, false, 0f)]
    [InlineData(OptimizerKind.Sgd, true, 0.01f)]
    [InlineData(OptimizerKind.Adam, false, 0f)]
    [InlineData(OptimizerKind.Adam, false, 0.01f)]
    [InlineData(OptimizerKind.AdamW, false, 0.01f)]
    public void Long_buffers_match_a_plain_loop_and_frozen_ranges_stay(OptimizerKind kind, bool nesterov, float decay)
    {
        const int Length = 70_001;
        const float Rate = 0.01f, Momentum = 0.9f, Beta1 = 0.9f, Beta2 = 0.999f, Epsilon = 1e-8f;
        var random = new Random(7);
        float[] w = [.. Enumerable.Range(0, Length).Select(_ => random.NextSingle() - 0.5f)], g = new float[Length];
        double[] expected = [.. w.Select(x => (double)x)], first = new double[Length], second = new double[Length];
        (int Offset, int Length)[] frozen = [(100, 900), (50_000, 3)];
        bool Frozen(int i) => frozen.Any(f => i >= f.Offset && i < f.Offset + f.Length);
        var optimizer = Optimizer.Create(kind, w, g, Momentum, nesterov, decay);
        optimizer.Freeze(frozen);
        for (int step = 1; step <= 3; step++)
        {
            for (int i = 0; i < Length; i++) g[i] = random.NextSingle() - 0.5f;
            for (int i = 0; i < Length; i++)
            {
                if (Frozen(i)) continue;
                double gi = g[i] + (kind == OptimizerKind.AdamW ? 0 : decay * expected[i]);
                if (kind == OptimizerKind.Sgd)
                {
                    first[i] = Momentum * first[i] + gi;
                    expected[i] -= Rate * (nesterov ? gi + Momentum * first[i] : first[i]);
                    continue;
                }
                first[i] = Beta1 * first[i] + (1 - Beta1) * gi;
                second[i] = Beta2 * second[i] + (1 - Beta2) * gi * gi;
                double corrected = first[i] / (1 - Math.Pow(Beta1, step)), scale = Math.Sqrt(second[i] / (1 - Math.Pow(Beta2, step)));
                if (kind == OptimizerKind.AdamW) expected[i] *= 1 - Rate * decay;
                expected[i] -= Rate * corrected / (scale + Epsilon);
            }
            optimizer.Step(Rate);
        }
        for (int i = 0; i < Length; i++)
            if (Math.Abs(w[i] - expected[i]) > 1e-5) Assert.Fail($"Element {i}: {w[i]} where a plain loop gives {expected[i]}.");
    }

    [Fact]
    public void Updates_come_in_a_piece_per_thread_each_a_whole_number_of_cache_lines()
    {
        var optimizer = new Sgd(new float[100_000], new float[100_000]);
        optimizer.Freeze([(0, 10), (500, 20)]);
        int[] trainable = [.. Enumerable.Range(0, 100_000).Where(i => i >= 10 && (i < 500 || i >= 520))];
        foreach (int threads in new[] { 1, 2, 3, 8 })
        {
            var pieces = optimizer.ChunksFor(threads);
            Assert.Equal(trainable, pieces.SelectMany(p => Enumerable.Range(p.Start, p.End - p.Start)).Order());
            Assert.InRange(pieces.Length, threads, threads + 2);   // the frozen ranges cut one or two pieces short
            Assert.All(pieces.SkipLast(1).Where(p => p.End != 500), p => Assert.Equal(0, (p.End - p.Start) % 16));
        }
    }
}
