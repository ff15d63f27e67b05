package ai.eapo.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.eapo.UserInputException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The results table summarises finished runs over seeds with hand-checkable numbers. */
class ResultsTableTest {

    @TempDir
    Path dir;

    /** A 4-step run with held-out accuracy before, after step 2 (point 2) and at the end (point 4). */
    private void run(String name, double before, double mid, double after, Double eaAccuracy, double alpha) throws IOException {
        Path run = Files.createDirectories(dir.resolve(name));
        StringBuilder lines = new StringBuilder();
        for (int step = 0; step < 4; step++) {
            lines.append(String.format(java.util.Locale.ROOT,
                    "{\"step\":%d,\"alpha\":%s,\"accuracy\":0.5,\"ea_accuracy\":%s,\"resampled_ratio\":%s,"
                            + "\"tokens\":100,\"tokens_per_s\":50%s}%n",
                    step, alpha, eaAccuracy, alpha > 0 ? "0.25" : "0.0",
                    step == 1 ? ",\"heldout_accuracy\":" + mid : step == 3 ? ",\"heldout_accuracy\":" + after : ""));
        }
        Files.writeString(run.resolve("metrics.jsonl"), lines);
        Files.writeString(run.resolve("summary.json"),
                "{\"steps\":4,\"heldout_accuracy_before\":" + before + ",\"heldout_accuracy_after\":" + after + "}");
    }

    @Test
    void meansAndSpreadsOverSeedsWithUnfinishedRunsLeftOut() throws IOException {
        run("grpo-s0", 0.40, 0.50, 0.60, null, 0.0);
        run("grpo-s1", 0.40, 0.70, 0.50, null, 0.0);
        run("eapo-s0", 0.40, 0.60, 0.80, 0.75, 0.5);
        // Unfinished: no heldout_accuracy_after yet.
        Path unfinished = Files.createDirectories(dir.resolve("eapo-s1"));
        Files.writeString(unfinished.resolve("summary.json"), "{\"steps\":4,\"heldout_accuracy_before\":0.4}");

        List<Path> written = ResultsTable.write(dir, List.of(ResultsTable.Figure.parse("main=grpo,eapo")), null);

        String md = Files.readString(dir.resolve("summary.md"));
        // grpo at point 2: 50 and 70 → 60.0 ± 14.1; best per seed 60 and 70 → 65.0 ± 7.1; 2 s/step, 400 tokens.
        assertTrue(md.contains("| grpo | 2 | 40.0 ± 0.0 | 60.0 ± 14.1 | 55.0 ± 7.1 | 65.0 ± 7.1 | 50.0 ± 0.0 | – | 0.0 ± 0.0 | 2.00 | 400 |"), md);
        assertTrue(md.contains("| eapo | 1 | 40.0 | 60.0 | 80.0 | 80.0 | 50.0 | 75.0 | 25.0 | 2.00 | 400 |"), md);
        assertTrue(md.contains("![main-heldout-by-step.png](main-heldout-by-step.png)"), md);

        JsonNode summary = new ObjectMapper().readTree(dir.resolve("summary.json").toFile());
        assertEquals(0.55, summary.at("/grpo/heldout_accuracy/4/mean").asDouble(), 1e-12);
        assertEquals(List.of(0), List.of(summary.at("/eapo/seeds/0").asInt()));
        for (String png : List.of("main-heldout-by-step.png", "main-heldout-by-tokens.png", "main-resampled-ratio.png",
                "main-ea-accuracy.png")) {
            assertTrue(written.contains(dir.resolve(png)), png + " in " + written);
            assertTrue(Files.size(dir.resolve(png)) > 1000, png);
        }
    }

    @Test
    void aFigureNamingASettingWithoutRunsIsRefusedWithTheSettingsThatExist() throws IOException {
        run("grpo-s0", 0.4, 0.5, 0.6, null, 0.0);
        UserInputException error = assertThrows(UserInputException.class,
                () -> ResultsTable.write(dir, List.of(ResultsTable.Figure.parse("tau=tau-0,grpo")), null));
        assertTrue(error.getMessage().contains("'tau-0'") && error.getMessage().contains("settings: grpo"),
                error.getMessage());
        assertThrows(UserInputException.class, () -> ResultsTable.Figure.parse("no-equals-sign"));
        assertThrows(UserInputException.class, () -> ResultsTable.write(dir.resolve("missing"), List.of(), null));
    }
}
