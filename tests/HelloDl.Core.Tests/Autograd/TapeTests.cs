using HelloDl.Autograd;
using HelloDl.Tensors;

namespace HelloDl.Tests.Autograd;

public sealed class TapeTests
{
    [Fact]
    public void A_tensor_used_twice_collects_both_gradients()
    {
        // y = Σ (x ⊙ x + x): dy/dx = 2x + 1
        var x = Tensor.Trainable([1f, -2f, 3f], 3);
        var tape = new Tape();
        var y = Sum.Apply(tape, Broadcast<AddRule>.Apply(tape, Broadcast<MulRule>.Apply(tape, x, x), x));
        tape.Backward(y);
        Assert.Equal([3f, -3f, 7f], x.Grad.ToArray());
    }

    [Fact]
    public void Backpropagating_a_given_output_gradient_scales_each_path_and_refuses_one_of_another_length()
    {
        // y = x ⊙ x with dL/dy given: dL/dx = 2x ⊙ dL/dy
        var x = Tensor.Trainable([1f, -2f, 3f], 3);
        var tape = new Tape();
        var y = Broadcast<MulRule>.Apply(tape, x, x);
        var error = Assert.Throws<ArgumentException>(() => tape.BackwardFrom(y, [1f, 1f]));
        Assert.Equal("outputGradient", error.ParamName);
        tape.BackwardFrom(y, [0.5f, 1f, -1f]);
        Assert.Equal([1f, -4f, -6f], x.Grad.ToArray());
    }

    [Fact]
    public void Gradients_accumulate_across_backward_passes_until_cleared()
    {
        var x = Tensor.Trainable([2f], 1);
        for (int pass = 0; pass < 2; pass++)
        {
            var tape = new Tape();
            tape.Backward(SumOfSquares.Apply(tape, x));
        }
        Assert.Equal(8f, x.Grad[0]);
    }

    [Fact]
    public void With_fresh_parameter_gradients_each_pass_starts_them_afresh_and_a_pass_still_collects_every_use()
    {
        // Σ (x ⊙ x + x) per pass: dy/dx = 2x + 1 = 5, not 10 after two passes.
        var x = Tensor.Trainable([2f], 1);
        var tape = new Tape { FreshParameterGradients = true };
        for (int pass = 0; pass < 2; pass++)
        {
            tape.Reset();
            tape.Backward(Sum.Apply(tape, Broadcast<AddRule>.Apply(tape, Broadcast<MulRule>.Apply(tape, x, x), x)));
            Assert.Equal(5f, x.Grad[0]);
            Assert.True(tape.Reached(x));
        }
        tape.Reset();
        Assert.False(tape.Reached(x));
    }

    [Fact]
    public void Dropout_is_identity_in_evaluation_and_scales_survivors_in_training()
    {
        var x = Tensor.FromArray(Enumerable.Repeat(1f, 1000).ToArray(), 10, 100);
        var eval = new Tape(recording: false) { Training = false };
        Assert.Same(x, HelloDl.Autograd.Dropout.Apply(eval, x, 0.5f));

        var train = new Tape(recording: false) { Random = new Random(3) };
        var y = HelloDl.Autograd.Dropout.Apply(train, x, 0.5f).Data.ToArray();
        Assert.All(y, v => Assert.True(v == 0f || v == 2f));
        Assert.InRange(y.Count(v => v == 0f), 400, 600);
        // The same seed gives the same mask; the next call on the tape a new one.
        Assert.Equal(y, HelloDl.Autograd.Dropout.Apply(new Tape(recording: false) { Random = new Random(3) }, x, 0.5f).Data.ToArray());
        Assert.NotEqual(y, HelloDl.Autograd.Dropout.Apply(train, x, 0.5f).Data.ToArray());

        var wide = Tensor.FromArray(Enumerable.Repeat(1f, 20_000).ToArray(), 200, 100);
        var rare = HelloDl.Autograd.Dropout.Apply(train, wide, 0.1f).Data.ToArray();
        Assert.InRange(rare.Count(v => v == 0f), 1_800, 2_200);
        Assert.InRange(rare.Take(10_000).Count(v => v == 0f) - rare.Skip(10_000).Count(v => v == 0f), -200, 200);
    }

    [Fact]
    public void A_reset_tape_reuses_its_buffers()
    {
        var tape = new Tape(recording: false);
        var x = Tensor.FromArray(new float[64 * 10], 64, 10);
        for (int warm = 0; warm < 3; warm++) { tape.Reset(); LogSoftmax.Apply(tape, Relu.Apply(tape, x)); }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int batch = 0; batch < 100; batch++) { tape.Reset(); LogSoftmax.Apply(tape, Relu.Apply(tape, x)); }
        // Only the two small shape arrays per op are new; the 640-float buffers are reused.
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 100 * 200);
    }
}

public sealed class ActivationValueTests
{
    [Theory]
    [InlineData(1.0, 0.8413447460685429)]
    [InlineData(-1.0, -0.15865525393145707)]
    [InlineData(2.0, 1.9544997361036416)]
    [InlineData(0.5, 0.34573123063700656)]
    [InlineData(-3.0, -0.0040496349)]
    [InlineData(0.0, 0.0)]
    public void Gelu_is_the_exact_erf_form(double x, double expected)
    {
        // 17 copies so both the vector lanes and the scalar tail are checked.
        var input = Tensor.FromArray(Enumerable.Repeat((float)x, 17).ToArray(), 17);
        var y = Gelu.Apply(new Tape(recording: false), input).Data.ToArray();
        Assert.All(y, v => Assert.Equal(expected, v, 5e-6));
    }
}
