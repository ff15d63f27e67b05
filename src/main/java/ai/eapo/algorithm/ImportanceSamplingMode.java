package ai.eapo.algorithm;

/** Option {@code is.mode}: how tokens not drawn from the proximal policy are weighted. */
public enum ImportanceSamplingMode implements NamedOption {
    /** w = min(π_prox / behaviour, C), stop-gradient: the default. */
    TRUNCATED("truncated"),
    /** w = 1: the uncorrected ablation; biased under experience augmentation or staleness. */
    NONE("none"),
    /**
     * Resampled tokens use policy shaping f(π_θ(a))·A with f(x) = x / (x + γ), unclipped; the other
     * tokens are weighted as in {@link #TRUNCATED}.
     */
    SHAPED("shaped");

    private final String configName;

    ImportanceSamplingMode(String configName) {
        this.configName = configName;
    }

    @Override
    public String configName() {
        return configName;
    }
}
