package ai.eapo.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Resident memory of a training run as a user starts it ({@code java -jar eapo-node.jar train}, tiny models,
 * every role in one JVM, held-out evaluations every few steps): after a warm-up of two evaluation cycles it stays
 * flat, and its peak stays within the demo's bound. Before the native memory was bounded, the same run grew by
 * about 100 MB a step and each evaluation added gigabytes.
 *
 * <p>The warm-up is two cycles because the allocator's high-water mark can still rise at the second evaluation
 * (responses grow as the policy trains; seen on CI: 589 MB before, 666 MB after, then flat within 4%). Each later
 * cycle's highest reading is compared with the warm-up's last cycle, so one noisy reading neither hides nor fakes
 * a trend, while a leak of a few MB a step over the 12 steps after the warm-up still fails.
 */
class MemoryIT {

    private static final Path JAR = Path.of("target/eapo-node.jar");
    private static final int EVAL_EVERY = 4;
    private static final int WARM_UP_CYCLES = 2;
    private static final int STEPS = 5 * EVAL_EVERY;
    /** The highest reading of each cycle after the warm-up may exceed that of the warm-up's last cycle by this. */
    private static final double MAX_GROWTH = 1.10;
    /** The demo's bound on peak resident memory. */
    private static final long MAX_PEAK_MB = 2000;

    @Test
    void residentMemoryStaysFlatThroughStepsAndEvaluations(@TempDir Path results) throws Exception {
        List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar",
                JAR.toString(), "train", "--steps", String.valueOf(STEPS), "--questions-per-step", "8",
                "--eval-every", String.valueOf(EVAL_EVERY), "--eval-size", "100", "--port", "0",
                "--results-dir", results.toString(), "--run-id", "memory");
        Path log = results.resolve("train.log");
        Process train = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertTrue(train.waitFor(10, TimeUnit.MINUTES), "the run did not finish in 10 minutes");
        assertEquals(0, train.exitValue(), Files.readString(log));

        List<JsonNode> lines = new ArrayList<>();
        ObjectMapper json = new ObjectMapper();
        for (String line : Files.readAllLines(results.resolve("memory/metrics.jsonl"))) {
            lines.add(json.readTree(line));
        }
        assertEquals(STEPS, lines.size());
        long peak = lines.get(STEPS - 1).get("peak_resident_mb").asLong();
        StringBuilder series = new StringBuilder();
        lines.forEach(l -> series.append(l.get("resident_mb").asLong()).append(l.has("heldout_accuracy") ? "e " : " "));
        System.out.printf("MemoryIT: resident MB after each step (e: with an evaluation): %s; peak %d MB%n", series, peak);
        for (int cycle = 0; cycle < STEPS / EVAL_EVERY; cycle++) {
            assertTrue(lines.get((cycle + 1) * EVAL_EVERY - 1).has("heldout_accuracy"),
                    "cycle " + cycle + " ends with an evaluation");
        }
        long warm = cycleMax(lines, WARM_UP_CYCLES - 1);
        for (int cycle = WARM_UP_CYCLES; cycle < STEPS / EVAL_EVERY; cycle++) {
            long high = cycleMax(lines, cycle);
            assertTrue(high <= warm * MAX_GROWTH, "resident memory grew from at most " + warm + " MB in steps "
                    + ((WARM_UP_CYCLES - 1) * EVAL_EVERY + 1) + "-" + WARM_UP_CYCLES * EVAL_EVERY + " to " + high
                    + " MB in steps " + (cycle * EVAL_EVERY + 1) + "-" + (cycle + 1) * EVAL_EVERY + ": " + series);
        }
        assertTrue(peak <= MAX_PEAK_MB, "peak resident memory " + peak + " MB > " + MAX_PEAK_MB + " MB: " + series);
    }

    /** The highest resident memory after any step of evaluation cycle {@code cycle} (0-based). */
    private static long cycleMax(List<JsonNode> lines, int cycle) {
        return lines.subList(cycle * EVAL_EVERY, (cycle + 1) * EVAL_EVERY).stream()
                .mapToLong(l -> l.get("resident_mb").asLong()).max().orElseThrow();
    }
}
