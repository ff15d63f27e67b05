package ai.eapo.algorithm;

/**
 * Decides where the prior policy is consulted: position t is a critical decision point when the
 * policy's entropy there exceeds τ, {@code H_t > τ}. τ = +∞ never consults; τ = 0 consults at every
 * position whose distribution is not a point mass.
 *
 * @param entropyThreshold τ in nats, ≥ 0, may be +∞ (live knob)
 */
public record CriticalPointPolicy(double entropyThreshold) {

    public static final String KEY_ENTROPY_THRESHOLD = "eapo.algorithm.experience.entropy-threshold";

    /** @throws IllegalArgumentException naming the offending key and value */
    public void validate() {
        OptionCheck.require(entropyThreshold >= 0.0, KEY_ENTROPY_THRESHOLD, entropyThreshold,
                "must be >= 0 nats (inf never consults the prior)");
    }

    /** Whether a position with next-token entropy {@code entropy} (nats) is a critical decision point. */
    public boolean isCritical(double entropy) {
        return entropy > entropyThreshold;
    }
}
