package ai.eapo.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Drives the truth table in src/test/resources/verifier-cases.tsv. */
class VerifierCasesTest {

    private static final String TABLE = "/verifier-cases.tsv";
    private static final String LINE_BREAK_MARK = "⏎";
    private static final int MIN_CASES = 200;

    private static final MathVerifier VERIFIER = new MathVerifier();

    record Case(int line, String mode, String prediction, String reference, boolean expected, String note) {
    }

    static List<Case> cases() throws IOException {
        try (InputStream in = VerifierCasesTest.class.getResourceAsStream(TABLE)) {
            String[] lines = new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n");
            return Stream.iterate(0, i -> i < lines.length, i -> i + 1)
                    .filter(i -> !lines[i].isBlank() && !lines[i].startsWith("#"))
                    .map(i -> {
                        String[] f = lines[i].split("\t", -1);
                        return new Case(i + 1, f[0], f[1].replace(LINE_BREAK_MARK, "\n"), f[2], f[3].equals("1"), f[4]);
                    })
                    .toList();
        }
    }

    static Stream<Arguments> table() throws IOException {
        return cases().stream().map(c -> Arguments.of(c.line() + ": " + c.note(), c));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("table")
    void verdictMatchesTable(String name, Case c) {
        Verdict v = c.mode().equals("response")
                ? VERIFIER.verify(c.prediction(), c.reference())
                : VERIFIER.verifyAnswer(c.prediction(), c.reference());
        assertEquals(c.expected(), v.correct(), () -> "line " + c.line() + " [" + c.prediction() + "] vs ["
                + c.reference() + "]: " + v.reason());
    }

    @Test
    void tableIsLargeAndBalanced() throws IOException {
        List<Case> all = cases();
        long negatives = all.stream().filter(c -> !c.expected()).count();
        long positives = all.size() - negatives;
        assertEquals(true, all.size() >= MIN_CASES, "cases: " + all.size());
        assertEquals(true, negatives >= positives, "negatives " + negatives + " < positives " + positives);
    }
}
