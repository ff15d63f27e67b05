package ai.eapo.verify;

/** An answer after {@link LatexNormalizer}: plain math text, and whether a percent sign was dropped. */
public record NormalizedAnswer(String text, boolean percent) {
}
