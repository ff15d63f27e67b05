package ai.eapo.report;

import ai.eapo.training.StepMetrics;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Writes metrics.jsonl: one JSON object per learner step, keys in snake_case ({@code reward_mean},
 * {@code resampled_ratio}, ...), flushed line by line so a crashed run keeps every step it finished.
 * JSON has no NaN: a quantity with nothing to measure in a step is written as null. Each line also goes to the
 * run's TensorBoard events ({@link TensorBoardEvents}).
 */
public final class MetricsLog implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE);

    private final BufferedWriter out;
    private final TensorBoardEvents tensorBoard;

    /**
     * Continues {@code file} for a run resumed at {@code firstStep}: the lines of earlier steps stay, those of
     * later steps (trained after the checkpoint the run resumes from) are dropped, since they are trained again.
     * The TensorBoard events go to {@code tensorBoardRun}/tb/, in a new file from {@code firstStep}.
     */
    public MetricsLog(Path file, long firstStep, Path tensorBoardRun) {
        try {
            Path parent = file.toAbsolutePath().getParent();
            Files.createDirectories(parent);
            List<String> kept = new ArrayList<>();
            if (firstStep > 0 && Files.exists(file)) {
                for (String line : Files.readAllLines(file)) {
                    if (!line.isBlank() && JSON.readTree(line).path("step").asLong(Long.MAX_VALUE) < firstStep) {
                        kept.add(line);
                    }
                }
            }
            Files.write(file, kept);
            this.out = Files.newBufferedWriter(file, java.nio.file.StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write metrics to " + file, e);
        }
        this.tensorBoard = TensorBoardEvents.open(tensorBoardRun, firstStep);
    }

    /** The step's metrics as a JSON object, NaN as null, with {@code extra} fields appended. */
    public static ObjectNode line(StepMetrics metrics, Map<String, ?> extra) {
        ObjectNode line = JSON.valueToTree(metrics);
        extra.forEach((key, value) -> line.set(key, JSON.valueToTree(value)));
        List<String> keys = new ArrayList<>();
        line.fieldNames().forEachRemaining(keys::add);
        for (String key : keys) {
            if (line.get(key).isDouble() && !Double.isFinite(line.get(key).asDouble())) {
                line.putNull(key);
            }
        }
        return line;
    }

    public void write(ObjectNode line) {
        try {
            out.write(JSON.writeValueAsString(line));
            out.newLine();
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        tensorBoard.write(line);
    }

    @Override
    public void close() throws IOException {
        try (tensorBoard) {
            out.close();
        }
    }
}
