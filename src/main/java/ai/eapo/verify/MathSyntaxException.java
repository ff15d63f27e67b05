package ai.eapo.verify;

/** The answer is not in the supported LaTeX subset; the verifier then compares normalised strings only. */
final class MathSyntaxException extends RuntimeException {

    MathSyntaxException(String message) {
        super(message, null, false, false);
    }
}
