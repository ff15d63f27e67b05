package ai.eapo.algorithm;

/** Option {@code advantage.norm}: whether group advantages are divided by the group's reward std. */
public enum AdvantageNorm implements NamedOption {
    /** GRPO: (r − mean) / (std + ε). */
    STD("std"),
    /** Dr.GRPO: r − mean. */
    NONE("none");

    private final String configName;

    AdvantageNorm(String configName) {
        this.configName = configName;
    }

    @Override
    public String configName() {
        return configName;
    }
}
