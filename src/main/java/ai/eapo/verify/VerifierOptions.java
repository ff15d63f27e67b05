package ai.eapo.verify;

import com.typesafe.config.Config;

/**
 * Tunables of the {@link MathVerifier}. Defaults mirror {@code eapo.verifier} in conf/application.conf.
 *
 * @param timeoutMillis          hard wall-clock bound of one check; past it the verdict is 0.0
 * @param maxResponseChars       longer responses are rejected outright (bounds extraction work)
 * @param maxAnswerChars         longer extracted answers or references are rejected (bounds parsing work)
 * @param maxNestingDepth        deepest bracket / operator nesting the parser accepts (bounds recursion)
 * @param relativeTolerance      tolerance when either side is a decimal approximation (Qwen grader uses 1e-4)
 * @param exactFormTolerance     tolerance when exact forms (sqrt, pi, fractions) are compared by floating evaluation
 * @param evaluationPoints       random points at which expressions with variables are compared
 * @param maxExactBits           bigger exact rationals fall back to floating evaluation
 * @param maxExactFactorial      largest n for which n! is computed exactly
 * @param fallbackToLastNumber   when no boxed / "answer is" / "####" answer is found, use the last number
 * @param percentAsFraction      accept "28%" against "0.28" (the percent sign always matches "28")
 * @param randomSeed             seed of the evaluation points, so verdicts are reproducible
 */
public record VerifierOptions(
        long timeoutMillis,
        int maxResponseChars,
        int maxAnswerChars,
        int maxNestingDepth,
        double relativeTolerance,
        double exactFormTolerance,
        int evaluationPoints,
        int maxExactBits,
        int maxExactFactorial,
        boolean fallbackToLastNumber,
        boolean percentAsFraction,
        long randomSeed) {

    public static VerifierOptions defaults() {
        return new VerifierOptions(1000, 200_000, 2_000, 200, 1e-4, 1e-9, 8, 4096, 1000, true, true, 20240601L);
    }

    /** Reads the section {@code eapo.verifier}; missing keys keep their defaults. */
    public static VerifierOptions fromConfig(Config root) {
        VerifierOptions d = defaults();
        String section = "eapo.verifier";
        if (!root.hasPath(section)) {
            return d;
        }
        Config c = root.getConfig(section);
        return new VerifierOptions(
                c.hasPath("timeout-ms") ? c.getLong("timeout-ms") : d.timeoutMillis(),
                c.hasPath("max-response-chars") ? c.getInt("max-response-chars") : d.maxResponseChars(),
                c.hasPath("max-answer-chars") ? c.getInt("max-answer-chars") : d.maxAnswerChars(),
                c.hasPath("max-nesting-depth") ? c.getInt("max-nesting-depth") : d.maxNestingDepth(),
                c.hasPath("relative-tolerance") ? c.getDouble("relative-tolerance") : d.relativeTolerance(),
                c.hasPath("exact-form-tolerance") ? c.getDouble("exact-form-tolerance") : d.exactFormTolerance(),
                c.hasPath("evaluation-points") ? c.getInt("evaluation-points") : d.evaluationPoints(),
                c.hasPath("max-exact-bits") ? c.getInt("max-exact-bits") : d.maxExactBits(),
                c.hasPath("max-exact-factorial") ? c.getInt("max-exact-factorial") : d.maxExactFactorial(),
                c.hasPath("fallback-to-last-number") ? c.getBoolean("fallback-to-last-number") : d.fallbackToLastNumber(),
                c.hasPath("percent-as-fraction") ? c.getBoolean("percent-as-fraction") : d.percentAsFraction(),
                c.hasPath("random-seed") ? c.getLong("random-seed") : d.randomSeed());
    }

    public VerifierOptions withTimeoutMillis(long millis) {
        return new VerifierOptions(millis, maxResponseChars, maxAnswerChars, maxNestingDepth, relativeTolerance,
                exactFormTolerance, evaluationPoints, maxExactBits, maxExactFactorial, fallbackToLastNumber,
                percentAsFraction, randomSeed);
    }

    public VerifierOptions withFallbackToLastNumber(boolean fallback) {
        return new VerifierOptions(timeoutMillis, maxResponseChars, maxAnswerChars, maxNestingDepth, relativeTolerance,
                exactFormTolerance, evaluationPoints, maxExactBits, maxExactFactorial, fallback,
                percentAsFraction, randomSeed);
    }
}
