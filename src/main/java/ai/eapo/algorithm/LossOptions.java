package ai.eapo.algorithm;

/**
 * Options of {@link PolicyLoss}.
 *
 * @param isMode {@code is.mode}, default {@code truncated}
 * @param isCap {@code is.cap} C, the cap of the behaviour weight, default 2.0; +∞ means no cap
 * @param clipLow ε_low, ratio clipped below at 1 − ε_low, default 0.2
 * @param clipHigh ε_high, ratio clipped above at 1 + ε_high, default 0.28 (DAPO clip-higher)
 * @param klCoef β of the k3 KL penalty to the reference policy, default 0 (no reference needed)
 * @param aggregation {@code loss.agg}, default {@code token-mean}
 * @param shapingGamma γ of the policy-shaping function f(x) = x / (x + γ) in mode {@code shaped}, default 0.1
 * @param replayShapingBeta β of ExGRPO's policy shaping f(w) = w / (w + β) on replayed trajectories' tokens, default 0.1
 * @param mismatchCorrection {@code is.mismatch-correction}: the weight of tokens drawn with the weights being
 *     trained, default {@code off} (exactly 1)
 */
public record LossOptions(
        ImportanceSamplingMode isMode,
        double isCap,
        double clipLow,
        double clipHigh,
        double klCoef,
        LossAggregation aggregation,
        double shapingGamma,
        double replayShapingBeta,
        MismatchCorrection mismatchCorrection) {

    public static final String KEY_IS_MODE = "eapo.algorithm.is.mode";
    public static final String KEY_IS_CAP = "eapo.algorithm.is.cap";
    public static final String KEY_CLIP_LOW = "eapo.algorithm.clip.low";
    public static final String KEY_CLIP_HIGH = "eapo.algorithm.clip.high";
    public static final String KEY_KL_COEF = "eapo.algorithm.kl.coef";
    public static final String KEY_AGGREGATION = "eapo.algorithm.loss.agg";
    public static final String KEY_SHAPING_GAMMA = "eapo.algorithm.shaping.gamma";
    public static final String KEY_REPLAY_SHAPING_BETA = "eapo.algorithm.exgrpo.shaping-beta";
    public static final String KEY_MISMATCH_CORRECTION = "eapo.algorithm.is.mismatch-correction";

    /** These options with KL coefficient β (EXPO sets it per step from the batch accuracy). */
    public LossOptions withKlCoef(double beta) {
        return new LossOptions(isMode, isCap, clipLow, clipHigh, beta, aggregation, shapingGamma, replayShapingBeta,
                mismatchCorrection);
    }

    /** @throws IllegalArgumentException naming the offending key and value */
    public void validate() {
        OptionCheck.requirePresent(isMode, KEY_IS_MODE);
        OptionCheck.require(isCap > 0.0, KEY_IS_CAP, isCap, "must be > 0 (inf for no cap)");
        OptionCheck.require(clipLow >= 0.0 && clipLow < 1.0, KEY_CLIP_LOW, clipLow, "must be in [0, 1)");
        OptionCheck.require(clipHigh >= 0.0 && Double.isFinite(clipHigh), KEY_CLIP_HIGH, clipHigh,
                "must be a finite number >= 0");
        OptionCheck.require(klCoef >= 0.0 && Double.isFinite(klCoef), KEY_KL_COEF, klCoef,
                "must be a finite number >= 0");
        OptionCheck.requirePresent(aggregation, KEY_AGGREGATION);
        OptionCheck.requirePresent(mismatchCorrection, KEY_MISMATCH_CORRECTION);
        OptionCheck.require(shapingGamma > 0.0 && Double.isFinite(shapingGamma), KEY_SHAPING_GAMMA,
                shapingGamma, "must be a finite number > 0");
        OptionCheck.require(replayShapingBeta > 0.0 && Double.isFinite(replayShapingBeta), KEY_REPLAY_SHAPING_BETA,
                replayShapingBeta, "must be a finite number > 0");
    }
}
