package ai.eapo.algorithm;

/**
 * EXPO's accuracy-conditioned KL scaling: the coefficient of the KL penalty to the reference policy
 * at a learner step, {@code β_k = β_max · σ(κ (acc_batch − a_0))} with σ the logistic function.
 *
 * <p>The coefficient is smooth and strictly increasing in batch accuracy (for β_max &gt; 0): when
 * the model does badly it has to move far from the reference to find correct answers, so the KL
 * penalty is relaxed towards 0; when it does well the penalty tightens towards β_max and keeps the
 * policy from drifting away from what already works. At {@code acc = a_0} it is exactly β_max / 2.
 * The EXPO paper names no values for β_max, κ or a_0; the defaults here are this project's choice.
 *
 * <p>{@link #coefficient} is the formula alone; {@code enabled} is read by the pipeline, which uses
 * this coefficient in place of the fixed {@link LossOptions#klCoef()} only when it is true.
 *
 * @param enabled use the adaptive coefficient instead of the fixed one, default false
 * @param betaMax β_max ≥ 0, the coefficient approached at perfect accuracy, default 0.05
 * @param steepness κ &gt; 0, how sharply the coefficient switches around a_0, default 10
 * @param midpoint a_0 in [0, 1], the batch accuracy at which the coefficient is β_max / 2, default 0.5
 */
public record AdaptiveKl(boolean enabled, double betaMax, double steepness, double midpoint) {

    public static final String KEY_ENABLED = "eapo.algorithm.expo.kl.enabled";
    public static final String KEY_BETA_MAX = "eapo.algorithm.expo.kl.beta-max";
    public static final String KEY_STEEPNESS = "eapo.algorithm.expo.kl.steepness";
    public static final String KEY_MIDPOINT = "eapo.algorithm.expo.kl.midpoint";

    /** @throws IllegalArgumentException naming the offending key and value */
    public void validate() {
        OptionCheck.require(betaMax >= 0.0 && Double.isFinite(betaMax), KEY_BETA_MAX, betaMax,
                "must be a finite number >= 0");
        OptionCheck.require(steepness > 0.0 && Double.isFinite(steepness), KEY_STEEPNESS, steepness,
                "must be a finite number > 0");
        OptionCheck.require(midpoint >= 0.0 && midpoint <= 1.0, KEY_MIDPOINT, midpoint, "must be in [0, 1]");
    }

    /**
     * β_k for a batch whose mean accuracy (fraction of correct responses) is {@code batchAccuracy}.
     *
     * @throws IllegalArgumentException when the accuracy is not in [0, 1] (the message names it)
     */
    public double coefficient(double batchAccuracy) {
        if (!(batchAccuracy >= 0.0 && batchAccuracy <= 1.0)) {
            throw new IllegalArgumentException("batch accuracy = " + batchAccuracy + ": must be in [0, 1]");
        }
        // 1 / (1 + e^{-x}) saturates cleanly to 0 or 1 for any finite κ, never NaN.
        return betaMax / (1.0 + Math.exp(-steepness * (batchAccuracy - midpoint)));
    }
}
