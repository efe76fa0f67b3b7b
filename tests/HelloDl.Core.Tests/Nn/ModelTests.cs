using HelloDl.Autograd;
using HelloDl.Data;
using HelloDl.Imaging;
using HelloDl.Text;
using HelloDl.Kernels;
using HelloDl.Nn;
using HelloDl.Tensors;

namespace HelloDl.Tests.Nn;

[Collection(nameof(HelloDl.Tests.Kernels.GlobalKernelSettings))]
public sealed class ModelTests
{
    static readonly string[] Digits = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
    static readonly string[] Letters = "abcdefghijklmnopqrstuvwxyz".Select(c => c.ToString()).ToArray();

    [Fact]
    public void Input_normalization_matches_its_formula_for_every_pixel_value()
    {
        // 803 pixels: whole 16-pixel blocks and a tail, every byte value several times.
        var pixels = Enumerable.Range(0, 803).Select(i => (byte)(i * 7 % 256)).ToArray();
        var inputs = new float[pixels.Length];
        var normalization = InputNormalization.Mnist;
        normalization.Apply(pixels, inputs);
        for (int i = 0; i < pixels.Length; i++)
            Assert.True(Math.Abs((pixels[i] / 255.0 - 0.1307) / 0.3081 - inputs[i]) < 1e-5, $"pixel {pixels[i]} gave {inputs[i]}");
    }

    [Theory]
    [InlineData(Architecture.Cnn)]
    [InlineData(Architecture.Mlp)]
    public void Prediction_in_chunks_on_any_thread_count_matches_one_pass_over_the_batch(Architecture architecture)
    {
        var model = Model.Create(architecture, Enumerable.Range(0, 10).Select(i => i.ToString()).ToArray(), seed: 3);
        if (architecture == Architecture.Cnn) Assert.True(model.InferenceChunk < 150, $"chunk {model.InferenceChunk}");
        var random = new Random(5);
        var input = new Tensor(150, 1, 28, 28);
        for (int i = 0; i < input.Length; i++) input.Data[i] = random.NextSingle() * 2 - 1;
        var tape = new Tape(recording: false) { Training = false };
        var whole = model.Forward(tape, input).Data.ToArray().Select(MathF.Exp).ToArray();
        int saved = Parallelism.MaxThreads;
        try
        {
            float[]? first = null;
            foreach (int threads in new[] { 1, 2, 3 })
            {
                Parallelism.MaxThreads = threads;
                var chunked = new float[150 * 10];
                model.PredictProbabilities(input, chunked);
                for (int i = 0; i < whole.Length; i++) Assert.True(Math.Abs(whole[i] - chunked[i]) < 1e-6f, $"{threads} threads [{i}] {whole[i]} vs {chunked[i]}");
                // Each image's result is the same whichever thread and chunk computed it.
                if (first is null) first = chunked;
                else Assert.Equal(first, chunked);
            }
        }
        finally { Parallelism.MaxThreads = saved; }
    }

    [Fact]
    public void Mlp_has_hello_dls_109184_weights_and_202_biases()
    {
        var model = Model.Create(Architecture.Mlp, Digits);
        Assert.Equal(109_184, model.WeightCount);
        Assert.Equal(202, model.BiasCount);
        Assert.Equal(["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"], model.Parameters.Select(p => p.Name));
        Assert.Equal([128, 784], model.Parameters.First().Value.Shape);
    }

    [Fact]
    public void Cnn_for_26_letters_has_136736_weights_and_442_biases()
    {
        var model = Model.Create(Architecture.Cnn, Letters);
        Assert.Equal(136_736, model.WeightCount);
        Assert.Equal(442, model.BiasCount);
        Assert.Contains(model.Parameters, p => p.Name == "c2.bias" && p.Value.Shape.SequenceEqual([64]));
        var summary = model.Summary();
        Assert.Equal("[64, 6, 6]", summary.Single(r => r.Name == "pool2").OutputShape);
        Assert.Equal("[512]", summary.Single(r => r.Name == "flatten").OutputShape);
        Assert.Equal(model.ParameterCount, summary.Sum(r => r.Parameters));
    }

    [Fact]
    public void Linear_with_two_classes_is_one_weight_per_pixel_plus_a_bias()
    {
        var model = Model.Create(Architecture.Linear, ["3", "7"]);
        Assert.Equal(785, model.ParameterCount);
        var tape = new Tape(recording: false);
        var output = model.Forward(tape, new Tensor(4, 1, 28, 28));
        Assert.Equal([4, 2], output.Shape);
    }

    [Fact]
    public void Initialisation_is_uniform_within_one_over_root_fan_in_and_seeded()
    {
        var a = Model.Create(Architecture.Mlp, Digits, seed: 5);
        var b = Model.Create(Architecture.Mlp, Digits, seed: 5);
        var c = Model.Create(Architecture.Mlp, Digits, seed: 6);
        Assert.Equal(a.Values, b.Values);
        Assert.NotEqual(a.Values, c.Values);
        var fc1 = a.Parameters.First().Value.Data.ToArray();
        float bound = 1 / MathF.Sqrt(784);
        Assert.All(fc1, v => Assert.InRange(v, -bound, bound));
        Assert.True(fc1.Max() > bound * 0.99f && fc1.Min() < -bound * 0.99f);
    }

    [Fact]
    public void Parameters_are_views_into_the_flat_buffers()
    {
        var model = Model.Create(Architecture.Mlp, Digits);
        model.Values[0] = 42;
        Assert.Equal(42, model.Parameters.First().Value.Data[0]);
        var last = model.Parameters.Last().Value;
        last.Data[^1] = 7;
        Assert.Equal(7, model.Values[^1]);
    }

    [Fact]
    public void Dropout_is_off_in_evaluation_so_predictions_repeat()
    {
        var model = Model.Create(Architecture.Cnn, Digits);
        var input = Tensor.FromArray(Enumerable.Range(0, 2 * 784).Select(i => (i % 13) / 13f).ToArray(), 2, 1, 28, 28);
        var first = new float[20]; var second = new float[20];
        model.PredictProbabilities(input, first);
        model.PredictProbabilities(input, second);
        Assert.Equal(first, second);
        Assert.Equal(1f, first.Take(10).Sum(), 4);
    }

    [Theory]
    [InlineData(Architecture.Mlp)]
    [InlineData(Architecture.Cnn)]
    [InlineData(Architecture.Linear)]
    [InlineData(Architecture.Gru)]
    [InlineData(Architecture.TextNgram)]
    public void A_tape_with_fresh_parameter_gradients_gives_each_pass_the_gradients_a_cleared_start_would(Architecture architecture)
    {
        var (model, data) = ModelAndData(architecture);
        var (input, targets) = new Batcher(data, 8, model.Input).Batch(0);
        float[] PassGradients(Tape tape)
        {
            tape.Reset();
            tape.Random = new Random(4);   // the CNN's dropout drops the same units in every pass
            tape.Backward(NllLoss.Apply(tape, model.Forward(tape, input), targets, null));
            return model.Gradients.ToArray();
        }

        model.ZeroGradients();
        var expected = PassGradients(new Tape());
        Assert.Contains(expected, g => g != 0);

        // Each pass starts from an earlier pass's gradients (here garbage), as a training step would.
        var fresh = new Tape { FreshParameterGradients = true };
        for (int pass = 0; pass < 2; pass++)
        {
            Array.Fill(model.Gradients, 1000f);
            var gradients = PassGradients(fresh);
            model.ClearGradientsNotReachedBy(fresh);
            Assert.Equal(expected, gradients);
        }
    }

    [Fact]
    public void Gradients_of_parameters_a_pass_did_not_reach_are_cleared_after_it()
    {
        var model = Model.Create(Architecture.Mlp, Digits, seed: 2);
        var last = (LinearLayer)model.Network.Children.Single(c => c.Name == "fc3").Module;
        var input = Tensor.FromArray(Enumerable.Range(0, 4 * 64).Select(i => MathF.Sin(i)).ToArray(), 4, 64);
        var tape = new Tape { FreshParameterGradients = true };
        Assert.Throws<InvalidOperationException>(() => model.ClearGradientsNotReachedBy(new Tape()));

        model.ZeroGradients();
        var plain = new Tape();
        plain.Backward(Sum.Apply(plain, last.Forward(plain, input)));
        var expected = last.Weight.Value.Grad.ToArray();

        Array.Fill(model.Gradients, 1000f);
        tape.Backward(Sum.Apply(tape, last.Forward(tape, input)));
        model.ClearGradientsNotReachedBy(tape);
        Assert.Equal(expected, last.Weight.Value.Grad.ToArray());
        Assert.Equal(4f, last.Bias.Value.Grad[0]);   // d Σy / d bias: one per row
        int fc3Start = model.Gradients.Length - last.Weight.Length - last.Bias.Length;
        Assert.All(model.Gradients.Take(fc3Start), g => Assert.Equal(0f, g));
    }

    static (Model Model, Dataset Data) ModelAndData(Architecture architecture)
    {
        var random = new Random(6);
        if (architecture is Architecture.Gru or Architecture.TextNgram)
        {
            string[] words = ["cat", "dog", "bites", "runs", "boy", "fast"];
            var documents = Enumerable.Range(0, 8).Select(_ => string.Join(' ', Enumerable.Range(0, 5).Select(_ => words[random.Next(words.Length)]))).ToList();
            var text = TextDataset.FromDocuments("words", "test", ["a", "b"], documents, Enumerable.Range(0, 8).Select(i => i % 2).ToList());
            var model = architecture == Architecture.Gru
                ? Model.Create(architecture, text.ClassNames, seed: 5, hiddenSize: 8, sequences: new ByteSequences { Length = 24 })
                : Model.Create(architecture, text.ClassNames, seed: 5, hiddenSize: 8, textFeatures: new HashedNgrams { Buckets = 1 << 10, MaximumFeatures = 64 });
            return (model, text);
        }
        var images = Enumerable.Range(0, 8).Select(_ => new GrayImage(28, 28, Enumerable.Range(0, 784).Select(_ => (byte)random.Next(256)).ToArray())).ToList();
        var set = ImageDataset.FromImages("noise", "test", Digits, images, Enumerable.Range(0, 8).ToList());
        return (Model.Create(architecture, Digits, seed: 5), set);
    }
}
