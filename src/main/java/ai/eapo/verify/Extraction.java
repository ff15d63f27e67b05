package ai.eapo.verify;

/** An answer taken out of a response, with the rule that found it; {@code text} is null when none did. */
public record Extraction(String text, ExtractionRule rule) {

    static final Extraction NONE = new Extraction(null, ExtractionRule.NONE);

    public boolean found() {
        return text != null;
    }
}
