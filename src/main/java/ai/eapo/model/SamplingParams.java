package ai.eapo.model;

import ai.eapo.UserInputException;

/**
 * How a next token is drawn from logits: {@code temperature} (0 = greedy), nucleus {@code topP} (1 = off)
 * and {@code topK} (0 = off). Entropies, and the log-probabilities the learner recomputes, are those of the
 * full temperature-scaled distribution; a token's behaviour log-prob is that of the distribution it was drawn
 * from, the truncated one renormalised (see {@link TokenSampler.Draw}).
 */
public record SamplingParams(double temperature, double topP, int topK) {

    /** The model's own distribution: temperature 1, nothing cut. */
    public static final SamplingParams PLAIN = new SamplingParams(1.0, 1.0, 0);

    public SamplingParams {
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new UserInputException("temperature must be a finite number >= 0, got " + temperature);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new UserInputException("top-p must be in (0, 1], got " + topP);
        }
        if (topK < 0) {
            throw new UserInputException("top-k must be >= 0 (0 = off), got " + topK);
        }
    }

    public boolean greedy() {
        return temperature == 0;
    }

    /** The temperature the log-probabilities are computed at (1 for greedy decoding). */
    public float logProbTemperature() {
        return greedy() ? 1f : (float) temperature;
    }

    public boolean truncates() {
        return topP < 1 || topK > 0;
    }

    /** As the configuration names them: {@code temperature 1.0, top-p 0.95, top-k 0}. */
    public String describe() {
        return "temperature " + temperature + ", top-p " + topP + ", top-k " + topK;
    }

    /**
     * Why a node sampling with {@code other} cannot take part in a run sampling with these settings, or null when
     * they agree: the behaviour log-probs, the entropies compared with τ and the learner's log-probs must all
     * be of one distribution. {@code whose} and {@code otherWhose} name the two sides.
     */
    public String mismatch(String whose, SamplingParams other, String otherWhose) {
        return equals(other) ? null : "sampling settings differ across the nodes of the run: " + otherWhose + " samples with "
                + other.describe() + ", " + whose + " with " + describe() + "; set eapo.rollout.temperature, top-p and "
                + "top-k alike on every node";
    }
}
