package ai.eapo.algorithm;

/**
 * Decides where the prior policy is consulted: position t is a critical decision point when the
 * policy's entropy there exceeds τ, {@code H_t > τ}. τ = +∞ never consults; τ = 0 consults at every
 * position whose distribution is not a point mass. With trajectory granularity every position is critical.
 *
 * @param entropyThreshold τ in nats, ≥ 0, may be +∞ (live knob)
 * @param granularity token (EAPO) or trajectory (the prior writes the whole experience response)
 */
public record CriticalPointPolicy(double entropyThreshold, ExperienceGranularity granularity) {

    public static final String KEY_ENTROPY_THRESHOLD = "eapo.algorithm.experience.entropy-threshold";
    public static final String KEY_GRANULARITY = "eapo.algorithm.experience.granularity";

    /** Token-level experience at threshold τ. */
    public CriticalPointPolicy(double entropyThreshold) {
        this(entropyThreshold, ExperienceGranularity.TOKEN);
    }

    /** The same policy at threshold {@code tau} (τ is a live knob; the granularity is fixed for a run). */
    public CriticalPointPolicy withThreshold(double tau) {
        return new CriticalPointPolicy(tau, granularity);
    }

    /** @throws IllegalArgumentException naming the offending key and value */
    public void validate() {
        OptionCheck.require(entropyThreshold >= 0.0, KEY_ENTROPY_THRESHOLD, entropyThreshold,
                "must be >= 0 nats (inf never consults the prior)");
        OptionCheck.requirePresent(granularity, KEY_GRANULARITY);
    }

    /** Whether a position with next-token entropy {@code entropy} (nats) is a critical decision point. */
    public boolean isCritical(double entropy) {
        return granularity == ExperienceGranularity.TRAJECTORY || entropy > entropyThreshold;
    }
}
