package ai.eapo.algorithm;

/**
 * What an experience response takes from the prior (the paper's Figure 3a): single tokens at
 * critical decision points, or the whole response.
 */
public enum ExperienceGranularity implements NamedOption {
    /** The prior draws the token only where the policy's entropy exceeds τ (EAPO). */
    TOKEN("token"),
    /** The prior draws every token: the response is the prior's own trajectory, whatever τ is. */
    TRAJECTORY("trajectory");

    private final String configName;

    ExperienceGranularity(String configName) {
        this.configName = configName;
    }

    @Override
    public String configName() {
        return configName;
    }
}
