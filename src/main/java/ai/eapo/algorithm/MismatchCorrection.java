package ai.eapo.algorithm;

/**
 * Option {@code is.mismatch-correction}: how a token the policy drew with the very weights being trained is
 * weighted when the sampler's numerics differ from the learner's (fp16 or bf16 decoding against fp32 training),
 * so that its recorded log-prob is not the one the learner recomputes.
 */
public enum MismatchCorrection implements NamedOption {
    /** w = 1 exactly (spec section 3): the default, exact when samplers and learner compute alike. */
    OFF("off"),
    /** w = min(π_prox / π_sampler, C) with the sampler's recorded log-prob: truncated IS on the mismatch. */
    TRUNCATED("truncated");

    private final String configName;

    MismatchCorrection(String configName) {
        this.configName = configName;
    }

    @Override
    public String configName() {
        return configName;
    }
}
