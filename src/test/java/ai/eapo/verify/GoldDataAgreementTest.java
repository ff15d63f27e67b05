package ai.eapo.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Real data: reference solutions must verify against their own final answers. */
class GoldDataAgreementTest {

    private static final double REQUIRED_MATH500_AGREEMENT = 0.99;
    private static final ObjectMapper JSON = new ObjectMapper();
    private final MathVerifier verifier = new MathVerifier();

    private static List<JsonNode> read(String file) throws IOException {
        Path dir = Path.of(System.getProperty("eapo.shared", "../shared"), "data");
        List<JsonNode> rows = new ArrayList<>();
        for (String line : Files.readAllLines(dir.resolve(file))) {
            rows.add(JSON.readTree(line));
        }
        return rows;
    }

    @Test
    void math500BoxedSolutionsVerifyAgainstAnswers() throws IOException {
        List<JsonNode> rows = read("math500-test.jsonl");
        List<String> failures = new ArrayList<>();
        for (JsonNode row : rows) {
            Verdict v = verifier.verify(row.get("solution").asText(), row.get("answer").asText());
            assertEquals(ExtractionRule.BOXED, v.rule(), row.get("unique_id").asText());
            if (!v.correct()) {
                failures.add(row.get("unique_id").asText() + ": " + v.reason());
            }
        }
        double agreement = 1.0 - (double) failures.size() / rows.size();
        System.out.printf("MATH-500 boxed-vs-answer agreement: %.4f (%d/%d)%n", agreement,
                rows.size() - failures.size(), rows.size());
        failures.forEach(f -> System.out.println("  disagreement " + f));
        assertEquals(500, rows.size());
        assertTrue(agreement >= REQUIRED_MATH500_AGREEMENT, () -> "agreement " + agreement + ": " + failures);
    }

    @Test
    void gsm8kHashAnswersAreExtractedAndVerify() throws IOException {
        List<JsonNode> rows = read("gsm8k-test.jsonl");
        AnswerExtractor extractor = new AnswerExtractor(false);
        int agreed = 0;
        for (JsonNode row : rows) {
            String answer = row.get("answer").asText();
            String lastLine = answer.substring(answer.lastIndexOf('\n') + 1);
            assertTrue(lastLine.startsWith("#### "), lastLine);
            String expected = lastLine.substring("#### ".length()).strip();
            Extraction e = extractor.extract(answer);
            assertEquals(ExtractionRule.GSM8K_HASHES, e.rule());
            assertEquals(expected, e.text());
            Verdict v = verifier.verify(answer, expected.replace(",", ""));
            assertTrue(v.correct(), v.reason());
            agreed++;
        }
        System.out.printf("GSM8K #### extraction agreement: %d/%d%n", agreed, rows.size());
        assertEquals(1319, rows.size());
    }
}
