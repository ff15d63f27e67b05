package ai.eapo.model;

import java.nio.file.Path;

/** Where the shared fixtures and data live (surefire sets eapo.shared; default ../shared). */
public final class TestPaths {
    private TestPaths() {
    }

    public static Path shared() {
        return Path.of(System.getProperty("eapo.shared", "../shared")).toAbsolutePath().normalize();
    }
}
