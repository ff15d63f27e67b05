package ai.eapo.verify;

/**
 * Outcome of one check.
 *
 * @param reward    1.0 when the answer matches the reference, else 0.0
 * @param extracted the answer text taken from the response (null when no rule fired)
 * @param rule      the extraction rule that fired
 * @param reason    human-readable account for logs: normalised forms and the comparison that decided
 */
public record Verdict(double reward, String extracted, ExtractionRule rule, String reason) {

    public boolean correct() {
        return reward > 0;
    }

    static Verdict wrong(String extracted, ExtractionRule rule, String reason) {
        return new Verdict(0.0, extracted, rule, reason);
    }

    static Verdict right(String extracted, ExtractionRule rule, String reason) {
        return new Verdict(1.0, extracted, rule, reason);
    }
}
