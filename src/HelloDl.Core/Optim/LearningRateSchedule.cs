using System.Runtime.CompilerServices;

namespace HelloDl.Optim;

/// <summary>
/// The learning rate at a given optimizer step (0-based), from a base rate. Every training step asks,
/// so each override is compiled once, fully optimised: left to tiering, it was recompiled twice
/// during a first epoch, on the core the run needs.
/// </summary>
public abstract class LearningRateSchedule
{
    public abstract float At(long step, float baseRate);

    /// <summary>The base rate throughout.</summary>
    public static LearningRateSchedule Constant { get; } = new ConstantSchedule();

    sealed class ConstantSchedule : LearningRateSchedule
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override float At(long step, float baseRate) => baseRate;
    }
}

/// <summary>Multiplies the rate by <c>gamma</c> every <c>stepSize</c> steps.</summary>
public sealed class StepSchedule(long stepSize, float gamma = 0.1f) : LearningRateSchedule
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override float At(long step, float baseRate) => baseRate * MathF.Pow(gamma, step / Math.Max(1, stepSize));
}

/// <summary>Cosine annealing from the base rate to <c>minimumRate</c> over <c>totalSteps</c>.</summary>
public sealed class CosineSchedule(long totalSteps, float minimumRate = 0) : LearningRateSchedule
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override float At(long step, float baseRate)
    {
        double progress = Math.Min(1, (double)step / Math.Max(1, totalSteps));
        return (float)(minimumRate + (baseRate - minimumRate) * 0.5 * (1 + Math.Cos(Math.PI * progress)));
    }
}

/// <summary>Rises linearly from near zero to the scheduled rate over <c>warmupSteps</c>, then follows <c>after</c>.</summary>
public sealed class WarmupSchedule(long warmupSteps, LearningRateSchedule after) : LearningRateSchedule
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override float At(long step, float baseRate)
    {
        float rate = after.At(step, baseRate);
        return step < warmupSteps ? rate * (step + 1) / warmupSteps : rate;
    }
}
