package ai.eapo.data;

import java.util.Optional;

/**
 * The synthetic task's own answer check: exact string match of the content of the last
 * {@code \boxed{...}} (braces may nest) with the reference answer. The real Verifier, with
 * mathematical equivalence, lives elsewhere. A test oracle only (SyntheticMathTaskTest checks every
 * generated solution with it), so it lives in the test sources.
 */
public final class ExactBoxedAnswer {

    private static final String BOXED = "\\boxed{";

    private ExactBoxedAnswer() {
    }

    /**
     * Content of the last {@code \boxed{...}}, trimmed; empty if there is none or the last one is never
     * closed (a truncated response has no final answer, even if it boxed something earlier).
     */
    public static Optional<String> lastBoxed(String text) {
        int start = text.lastIndexOf(BOXED);
        if (start < 0) {
            return Optional.empty();
        }
        int open = start + BOXED.length();
        int depth = 1;
        for (int i = open; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '{') {
                depth++;
            } else if (c == '}' && --depth == 0) {
                return Optional.of(text.substring(open, i).trim());
            }
        }
        return Optional.empty();
    }

    /** Whether the last boxed content of {@code response} is exactly {@code answer} (both trimmed). */
    public static boolean isCorrect(String response, String answer) {
        return lastBoxed(response).map(boxed -> boxed.equals(answer.trim())).orElse(false);
    }
}
