package ai.eapo.algorithm;

/**
 * DAPO's soft overlong punishment (Yu et al. 2025, "DAPO: An Open-Source LLM Reinforcement Learning
 * System at Scale", eq. 13), a length-dependent term added to the verifier's correctness reward
 * before advantages are computed. With {@code L_max} the generation length limit (max new tokens)
 * and {@code L_cache} the soft punishment interval:
 * <pre>
 *   0                                         if L ≤ L_max − L_cache
 *   ((L_max − L_cache) − L) / L_cache · factor  if L_max − L_cache &lt; L ≤ L_max
 *   −factor                                   if L &gt; L_max
 * </pre>
 * A response cut off at the limit is usually truncated mid-reasoning, and punishing it with a hard
 * −1 would also punish sound reasoning that merely ran long, which is reward noise. The linear ramp
 * over the last L_cache tokens instead tells the policy smoothly that it is getting too long. The
 * ramp reaches −factor exactly at L = L_max, so the penalty is continuous there.
 *
 * <p>{@link #penalty} is the formula alone; {@code enabled} is read by the pipeline, which adds the
 * penalty to rewards only when it is true.
 *
 * @param enabled add the penalty to rewards, default false
 * @param cacheLength L_cache ≥ 1 tokens, default 16; must also be below the generation limit
 * @param factor &gt; 0, the penalty of a response at or past the limit (DAPO uses 1), default 1.0
 */
public record OverlongPenalty(boolean enabled, int cacheLength, double factor) {

    public static final String KEY_ENABLED = "eapo.algorithm.dapo.overlong.enabled";
    public static final String KEY_CACHE_LENGTH = "eapo.algorithm.dapo.overlong.cache-length";
    public static final String KEY_FACTOR = "eapo.algorithm.dapo.overlong.factor";

    /** @throws IllegalArgumentException naming the offending key and value */
    public void validate() {
        OptionCheck.require(cacheLength >= 1, KEY_CACHE_LENGTH, cacheLength, "must be >= 1");
        OptionCheck.require(factor > 0.0 && Double.isFinite(factor), KEY_FACTOR, factor,
                "must be a finite number > 0");
    }

    /**
     * Checks, before a run starts, that an enabled penalty's L_cache is below the generation limit
     * {@code maxLength} (the ramp would otherwise start before the first token).
     *
     * @throws IllegalArgumentException naming both values
     */
    public void requireFits(int maxLength) {
        if (enabled) {
            requireBelow(maxLength);
        }
    }

    private void requireBelow(int maxLength) {
        if (cacheLength >= maxLength) {
            throw new IllegalArgumentException(KEY_CACHE_LENGTH + " = " + cacheLength
                    + " must be < the max length = " + maxLength + " (eapo.rollout.max-new-tokens)");
        }
    }

    /**
     * The penalties of responses of these lengths added to their rewards: {@link #penalty} each when the penalty
     * is enabled, else 0.
     */
    public double[] penalties(int[] responseLengths, int maxLength) {
        double[] penalties = new double[responseLengths.length];
        if (enabled) {
            for (int j = 0; j < penalties.length; j++) {
                penalties[j] = penalty(responseLengths[j], maxLength);
            }
        }
        return penalties;
    }

    /**
     * The (non-positive) length penalty of a response of {@code responseLength} tokens generated with
     * a limit of {@code maxLength} new tokens.
     *
     * @throws IllegalArgumentException when {@code responseLength} is negative, or when L_cache is not
     *     below {@code maxLength} (the ramp would start before the first token); the message names both
     */
    public double penalty(int responseLength, int maxLength) {
        requireBelow(maxLength);
        if (responseLength < 0) {
            throw new IllegalArgumentException("response length = " + responseLength + ": must be >= 0");
        }
        int rampStart = maxLength - cacheLength;
        if (responseLength <= rampStart) {
            return 0.0;
        }
        if (responseLength <= maxLength) {
            return (double) (rampStart - responseLength) / cacheLength * factor;
        }
        return -factor;
    }
}
