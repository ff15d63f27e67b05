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
        run(name, before, mid, after, eaAccuracy, alpha, 100, "");
    }

    /** {@code tokens} generated per step; {@code extra}: more fields of every metrics line (",\"key\":value..."). */
    private void run(String name, double before, double mid, double after, Double eaAccuracy, double alpha, int tokens,
                     String extra) throws IOException {
        Path run = Files.createDirectories(dir.resolve(name));
        StringBuilder lines = new StringBuilder();
        for (int step = 0; step < 4; step++) {
            lines.append(String.format(java.util.Locale.ROOT,
                    "{\"step\":%d,\"alpha\":%s,\"accuracy\":0.5,\"ea_accuracy\":%s,\"resampled_ratio\":%s,"
                            + "\"tokens\":%d,\"tokens_per_s\":%d%s%s}%n",
                    step, alpha, eaAccuracy, alpha > 0 ? "0.25" : "0.0", tokens, tokens / 2, extra,
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
        // grpo at point 2: 50 and 70, mean 60, standard error 10, t(0.975, 1 df) = 12.706: 60.0 [-67.1, 187.1];
        // at point 4: 60 and 50 → 55.0 [-8.5, 118.5]; best per seed 60 and 70 → 65.0 [1.5, 128.5]; 2 s/step, 400 tokens.
        assertTrue(md.contains("| grpo | 2 | 40.0 [40.0, 40.0] | 60.0 [-67.1, 187.1] | 55.0 [-8.5, 118.5] | 65.0 [1.5, 128.5] "
                + "| 50.0 [50.0, 50.0] | – | 0.0 [0.0, 0.0] | – | – | 2.00 | 400 |"), md);
        assertTrue(md.contains("| eapo | 1 | 40.0 | 60.0 | 80.0 | 80.0 | 50.0 | 75.0 | 25.0 | – | – | 2.00 | 400 |"), md);
        assertTrue(md.contains("![main-heldout-by-step.png](main-heldout-by-step.png)"), md);

        JsonNode summary = new ObjectMapper().readTree(dir.resolve("summary.json").toFile());
        assertEquals(0.55, summary.at("/grpo/heldout_accuracy/4/mean").asDouble(), 1e-12);
        assertEquals(0.55 - 12.706205 * 0.05, summary.at("/grpo/heldout_accuracy/4/low").asDouble(), 1e-6);
        assertEquals(List.of(0), List.of(summary.at("/eapo/seeds/0").asInt()));
        for (String png : List.of("main-heldout-by-step.png", "main-heldout-by-tokens.png", "main-resampled-ratio.png",
                "main-ea-accuracy.png")) {
            assertTrue(written.contains(dir.resolve(png)), png + " in " + written);
            assertTrue(Files.size(dir.resolve(png)) > 1000, png);
        }
    }

    @Test
    void aDifferenceIsPairedBySeedAtEqualStepsAndAtEqualTokens() throws IOException {
        // a is 10 points above b at every point for every seed (seeds spread both alike);
        // b generates twice a's tokens, so at a's tokens of point 2 (200) b is halfway between its points 0 and 2.
        double[][] b = {{0.30, 0.40, 0.50}, {0.20, 0.50, 0.60}, {0.40, 0.44, 0.70}};
        for (int seed = 0; seed < 3; seed++) {
            run("a-s" + seed, b[seed][0] + 0.1, b[seed][1] + 0.1, b[seed][2] + 0.1, null, 0.5, 100,
                    ",\"groups\":4,\"uniform_groups\":2,\"ea_groups\":2,\"ea_uniform_groups\":0");
            run("b-s" + seed, b[seed][0], b[seed][1], b[seed][2], null, 0.0, 200, "");
        }
        run("b-s9", 0.9, 0.9, 0.9, null, 0.0); // a seed a did not run: left out of the pairs

        ResultsTable.write(dir, List.of(ResultsTable.Figure.parse("main=a,b")),
                List.of(ResultsTable.Difference.parse("a-minus-b=a,b")), null);

        String md = Files.readString(dir.resolve("summary.md"));
        assertTrue(md.contains("## a-minus-b: a − b"), md);
        assertTrue(md.contains("seeds [0, 1, 2]"), md);
        assertTrue(md.contains("| 2 | **10.0 [10.0, 10.0]** |"), md);
        // at equal tokens, point 2: a_s − (b_s@0 + b_s@2) / 2 = 0.1 + (b@2 − b@0) / 2 = 15, 25, 12 points:
        // mean 17.33, s = 6.807, se = 3.930, t(0.975, 2 df) = 4.3027 → [0.4, 34.2]
        assertTrue(md.contains("| 2 | **10.0 [10.0, 10.0]** | **17.3 [0.4, 34.2]** |"), md);
        // at point 4 a has 400 tokens, b's point 2: a − b@2 = 0.1 + b@4 − b@2 = 20, 20, 36 → 25.3 [2.4, 48.3]
        assertTrue(md.contains("| 4 | **10.0 [10.0, 10.0]** | **25.3 [2.4, 48.3]** |"), md);
        // a's groups: 2 of 2 with experience have signal, 0 of the 2 others
        assertTrue(md.contains("| 100.0 [100.0, 100.0] | 0.0 [0.0, 0.0] |"), md);
        assertThrows(UserInputException.class, () -> ResultsTable.Difference.parse("x=a,b,c"));
        assertThrows(UserInputException.class, () -> ResultsTable.write(dir, List.of(),
                List.of(ResultsTable.Difference.parse("d=a,nothing")), null));
    }

    @Test
    void heldOutAccuracyByLevelIsTabledBeforeAndAfter() throws IOException {
        run("x-s0", 0.05, 0.2, 0.35, null, 0.0);
        Files.writeString(dir.resolve("x-s0/summary.json"), "{\"steps\":4,\"heldout_accuracy_before\":0.05,"
                + "\"heldout_accuracy_after\":0.35,\"heldout_accuracy_by_level_before\":{\"3\":0.1,\"4\":0.0},"
                + "\"heldout_accuracy_by_level_after\":{\"3\":0.5,\"4\":0.2}}");
        ResultsTable.write(dir, List.of(ResultsTable.Figure.parse("f=x")), null);
        String md = Files.readString(dir.resolve("summary.md"));
        assertTrue(md.contains("| setting | level 3 | level 4 |"), md);
        assertTrue(md.contains("| x | 10.0 → 50.0 | 0.0 → 20.0 |"), md);
    }

    /** A 4-step run whose level "3" measures {@code l3} at points 0, 2 and 4 and level "4" stays at 0. */
    private void levelRun(String name, double[] all, double[] l3) throws IOException {
        run(name, all[0], all[1], all[2], null, 0.0);
        Path metrics = dir.resolve(name).resolve("metrics.jsonl");
        List<String> lines = new java.util.ArrayList<>(Files.readAllLines(metrics));
        lines.set(1, lines.get(1).replace("}", ",\"heldout_accuracy_by_level\":{\"3\":" + l3[1] + ",\"4\":0.0}}"));
        lines.set(3, lines.get(3).replace("}", ",\"heldout_accuracy_by_level\":{\"3\":" + l3[2] + ",\"4\":0.0}}"));
        Files.write(metrics, lines);
        Files.writeString(dir.resolve(name).resolve("summary.json"), "{\"steps\":4,\"heldout_accuracy_before\":" + all[0]
                + ",\"heldout_accuracy_after\":" + all[2] + ",\"heldout_accuracy_by_level_before\":{\"3\":" + l3[0]
                + ",\"4\":0.0},\"heldout_accuracy_by_level_after\":{\"3\":" + l3[2] + ",\"4\":0.0}}");
    }

    @Test
    void stepsAndTokensToReachTheReferencesFinalAccuracyAreTabledByLevel() throws IOException {
        levelRun("g-s0", new double[] {0.4, 0.5, 0.6}, new double[] {0.1, 0.3, 0.5});
        levelRun("g-s1", new double[] {0.4, 0.7, 0.5}, new double[] {0.1, 0.2, 0.3});
        levelRun("e-s0", new double[] {0.4, 0.6, 0.6}, new double[] {0.1, 0.4, 0.6});
        levelRun("e-s1", new double[] {0.4, 0.5, 0.5}, new double[] {0.1, 0.5, 0.5});
        ResultsTable.write(dir, List.of(ResultsTable.Figure.parse("main=g,e")), null);
        String md = Files.readString(dir.resolve("summary.md"));
        // level 3: g ends at 0.5 and 0.3, target 40.0; g-s0 reaches it at point 4 (400 tokens), g-s1 never;
        // e reaches it at point 2 (200 tokens) with both seeds
        assertTrue(md.contains("| 3 | 40.0 | g | 4 | 400 | 1/2 |"), md);
        assertTrue(md.contains("| 3 | 40.0 | e | 2 [2, 2] | 200 [200, 200] | 2/2 |"), md);
        // level 4 never leaves 0: no target above the start
        assertTrue(md.contains("| 4 | 0.0 | – | g ends no higher than the runs start (0.0) | | |"), md);
        // all problems: target 55.0; g at points 4 and 2: 3 [-9.7, 15.7] (t = 12.706, se = 1); e-s0 at 2, e-s1 never
        assertTrue(md.contains("| all | 55.0 | g | 3 [-10, 16] | 300 [-971, 1571] | 2/2 |"), md);
        assertTrue(md.contains("| all | 55.0 | e | 2 | 200 | 1/2 |"), md);
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
