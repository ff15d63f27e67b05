package ai.eapo.algorithm;

/**
 * GRPO advantages of one group: {@code A_i = (r_i − mean) / (std + ε)}, or {@code r_i − mean} with
 * norm {@code none}, broadcast later to every token of response i.
 *
 * <p>std is the sample (Bessel-corrected, n − 1) standard deviation, as in verl's
 * {@code compute_grpo_outcome_advantage} and TRL's {@code GRPOTrainer}, which both call
 * {@code torch.std} with its unbiased default. Hence a group needs at least two rewards.
 *
 * @param advantages A_i in the order of the rewards (exactly 0 for a uniform group)
 * @param uniform whether all rewards are equal, so the group carries no learning signal (DAPO
 *     dynamic sampling drops such groups)
 */
public record GroupAdvantages(double[] advantages, boolean uniform) {

    public GroupAdvantages {
        advantages = advantages.clone();
    }

    @Override
    public double[] advantages() {
        return advantages.clone();
    }

    /** Advantages of the responses of one group with rewards {@code rewards} (at least two). */
    public static GroupAdvantages of(double[] rewards, AdvantageOptions options) {
        int n = rewards.length;
        if (n < 2) {
            throw new IllegalArgumentException("a group needs at least 2 rewards for a std, got " + n);
        }
        boolean uniform = true;
        double sum = 0.0;
        for (double reward : rewards) {
            if (!Double.isFinite(reward)) {
                throw new IllegalArgumentException("rewards must be finite, got " + reward);
            }
            uniform &= reward == rewards[0];
            sum += reward;
        }
        double[] advantages = new double[n];
        if (uniform) {
            return new GroupAdvantages(advantages, true);
        }
        double mean = sum / n;
        double squares = 0.0;
        for (double reward : rewards) {
            squares += (reward - mean) * (reward - mean);
        }
        double scale = switch (options.norm()) {
            case STD -> Math.sqrt(squares / (n - 1)) + options.stdEpsilon();
            case NONE -> 1.0;
        };
        for (int i = 0; i < n; i++) {
            advantages[i] = (rewards[i] - mean) / scale;
        }
        return new GroupAdvantages(advantages, false);
    }
}
