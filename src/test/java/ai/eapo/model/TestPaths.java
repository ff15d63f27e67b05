package ai.eapo.model;

import java.nio.file.Path;

/** Where the test fixtures live outside the sources. */
public final class TestPaths {
    private TestPaths() {
    }

    /** The shared fixtures and data (surefire sets eapo.shared; default ../shared). */
    public static Path shared() {
        return Path.of(System.getProperty("eapo.shared", "../shared")).toAbsolutePath().normalize();
    }

    /**
     * The real Qwen tokenizer's directory (tokenizer.json, tokenizer_config.json), fetched by
     * {@code scripts/fetch-qwen-tokenizer.sh}; {@code -Deapo.qwenTokenizer=DIR} points elsewhere.
     */
    public static Path qwenTokenizer() {
        String explicit = System.getProperty("eapo.qwenTokenizer");
        if (explicit != null && !explicit.isBlank()) {
            return Path.of(explicit).toAbsolutePath().normalize();
        }
        // Surefire sets basedir to the repository root; from an IDE the working directory usually is it.
        Path root = Path.of(System.getProperty("basedir", System.getProperty("user.dir")));
        return root.resolve("build").resolve("qwen-tokenizer").toAbsolutePath().normalize();
    }
}
