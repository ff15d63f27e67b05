package ai.eapo.verify;

/** Which rule of {@link AnswerExtractor} produced the answer text. */
public enum ExtractionRule {
    /** The last {@code \boxed{...}} or {@code \fbox{...}}. */
    BOXED,
    /** "The answer is ..." / "Final Answer: ...". */
    ANSWER_IS,
    /** GSM8K's {@code #### 42}. */
    GSM8K_HASHES,
    /** The last inline or display math ($...$, \(...\), \[...\]) of the text. */
    LAST_MATH,
    /** A short response without prose, taken whole (it is a bare answer). */
    WHOLE_RESPONSE,
    /** The last number in the text (configurable fallback). */
    LAST_NUMBER,
    /** The caller passed a bare answer; nothing was extracted. */
    BARE_ANSWER,
    /** No rule fired. */
    NONE
}
