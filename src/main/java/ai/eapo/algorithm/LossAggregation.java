package ai.eapo.algorithm;

/** Option {@code loss.agg}: how per-token losses become one scalar. */
public enum LossAggregation implements NamedOption {
    /** Mean over every response token in the batch (DAPO); long responses weigh more. */
    TOKEN_MEAN("token-mean"),
    /** Mean over each response's tokens, then over responses (original GRPO). */
    SEQ_MEAN_TOKEN_MEAN("seq-mean-token-mean");

    private final String configName;

    LossAggregation(String configName) {
        this.configName = configName;
    }

    @Override
    public String configName() {
        return configName;
    }
}
