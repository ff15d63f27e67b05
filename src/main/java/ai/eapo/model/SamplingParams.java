package ai.eapo.model;

import ai.eapo.UserInputException;

/**
 * How a next token is drawn from logits: {@code temperature} (0 = greedy), nucleus {@code topP} (1 = off)
 * and {@code topK} (0 = off). Entropies, and the log-probabilities the learner recomputes, are those of the
 * full temperature-scaled distribution; a token's behaviour log-prob is that of the distribution it was drawn
 * from, the truncated one renormalised (see {@link TokenSampler.Draw}).
 */
public record SamplingParams(double temperature, double topP, int topK) {

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
}
