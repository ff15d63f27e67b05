package ai.eapo.verify;

import com.typesafe.config.Config;

import java.util.Locale;

/** A task's reward function: scores a model's response against a problem's reference answer. */
public interface AnswerChecker {

    Verdict verify(String response, String reference);

    /** {@code eapo.train.task}: {@code math} (answers equal to the reference) or {@code countdown}. */
    String TASK_KEY = "eapo.train.task";

    /** The checker of the configured task, with {@code eapo.verifier}'s options. */
    static AnswerChecker fromConfig(Config config) {
        return forTask(config.getString(TASK_KEY), VerifierOptions.fromConfig(config));
    }

    static AnswerChecker forTask(String task, VerifierOptions options) {
        return switch (task.strip().toLowerCase(Locale.ROOT)) {
            case "math" -> new MathVerifier(options);
            case "countdown" -> new CountdownVerifier(options);
            default -> throw new IllegalArgumentException(TASK_KEY + " must be math or countdown, got \"" + task + "\"");
        };
    }
}
