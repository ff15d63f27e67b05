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
 * every role in one JVM, held-out evaluations every few steps): after a warm-up of a few steps and the first
 * evaluation it stays flat, and its peak stays within the demo's bound. Before the native memory was bounded,
 * the same run grew by about 100 MB a step and each evaluation added gigabytes.
 */
class MemoryIT {

    private static final Path JAR = Path.of("target/eapo-node.jar");
    private static final int STEPS = 16;
    private static final int EVAL_EVERY = 4;
    /** Resident memory after the last step may exceed that after the warm-up (step 4, evaluation included) by this. */
    private static final double MAX_GROWTH = 1.15;
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
        long warm = lines.get(EVAL_EVERY - 1).get("resident_mb").asLong();
        long last = lines.get(STEPS - 1).get("resident_mb").asLong();
        long peak = lines.get(STEPS - 1).get("peak_resident_mb").asLong();
        StringBuilder series = new StringBuilder();
        lines.forEach(l -> series.append(l.get("resident_mb").asLong()).append(l.has("heldout_accuracy") ? "e " : " "));
        System.out.printf("MemoryIT: resident MB after each step (e: with an evaluation): %s; peak %d MB%n", series, peak);
        assertTrue(lines.get(EVAL_EVERY - 1).has("heldout_accuracy"), "the warm-up includes an evaluation");
        assertTrue(last <= warm * MAX_GROWTH, "resident memory grew from " + warm + " MB after step " + EVAL_EVERY
                + " to " + last + " MB after step " + STEPS + ": " + series);
        assertTrue(peak <= MAX_PEAK_MB, "peak resident memory " + peak + " MB > " + MAX_PEAK_MB + " MB: " + series);
    }
}
