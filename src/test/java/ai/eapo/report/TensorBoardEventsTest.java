package ai.eapo.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class TensorBoardEventsTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void everyEventFileStartsWithTheBytesTensorFlowWrites() {
        // The first record of a TensorFlow event file holds the 24-byte Event {wall_time, file_version
        // "brain.Event:2"}: its length and the length's masked CRC32C are the same in every file.
        byte[] record = TensorBoardEvents.record(TensorBoardEvents.fileVersionEvent(1.7e9));
        assertArrayEquals(HexFormat.of().parseHex("1800000000000000a37f4b22"), Arrays.copyOf(record, 12));
    }

    @Test
    void theEventsAreByteForByteThoseTensorBoardsOwnClassesWrite() throws Exception {
        // golden.tfevents: scripts/check-tensorboard.py --golden (TensorBoard 2.21's event_pb2 and RecordWriter)
        byte[] golden = Files.readAllBytes(Path.of(getClass().getResource("/tensorboard/golden.tfevents").toURI()));
        java.io.ByteArrayOutputStream ours = new java.io.ByteArrayOutputStream();
        ours.writeBytes(TensorBoardEvents.record(TensorBoardEvents.fileVersionEvent(1700000000.25)));
        ours.writeBytes(TensorBoardEvents.record(TensorBoardEvents.sessionStartEvent(1700000000.5, 7)));
        Map<String, Float> scalars = new java.util.LinkedHashMap<>();
        scalars.put("train/loss", 0.25f);
        scalars.put("eapo/alpha", 0.495f);
        ours.writeBytes(TensorBoardEvents.record(TensorBoardEvents.scalarEvent(1700000001.75, 7, scalars)));
        assertArrayEquals(golden, ours.toByteArray());
        List<TensorBoardEventReader.Event> read = TensorBoardEventReader.read(
                Path.of(getClass().getResource("/tensorboard/golden.tfevents").toURI()));
        assertEquals(new TensorBoardEventReader.Event(1700000001.75, 7, null, scalars, 0), read.get(2));
    }

    @Test
    void metricsLinesReadBackAsGroupedScalarsOfTheirStep(@TempDir Path dir) throws Exception {
        List<String> lines = List.of(
                "{\"step\":0,\"reward_mean\":0.25,\"alpha\":0.5,\"tokens_per_s\":812.5,\"skipped\":false,"
                        + "\"reference_kl\":null,\"checkpoint_failed\":\"disk full\"}",
                "{\"step\":1,\"reward_mean\":0.5,\"alpha\":0.495,\"heldout_accuracy\":0.125,"
                        + "\"heldout_accuracy_by_level\":{\"3\":0.2,\"4\":0.05},\"knobs_changed\":{\"tau\":\"0.3\","
                        + "\"max_staleness\":\"2\"},\"skipped\":true}");
        try (TensorBoardEvents events = TensorBoardEvents.open(dir, 0)) {
            for (String line : lines) {
                events.write(JSON.readTree(line));
            }
        }
        List<TensorBoardEventReader.Event> read = TensorBoardEventReader.readDirectory(dir.resolve("tb"));
        assertEquals(3, read.size());
        assertEquals("brain.Event:2", read.get(0).fileVersion());
        assertEquals(0, read.get(1).step());
        assertEquals(Map.of("train/reward_mean", 0.25f, "eapo/alpha", 0.5f, "perf/tokens_per_s", 812.5f,
                "train/skipped", 0f), read.get(1).scalars());
        assertEquals(1, read.get(2).step());
        assertEquals(Map.of("train/reward_mean", 0.5f, "eapo/alpha", 0.495f, "eval/heldout_accuracy", 0.125f,
                "eval/heldout_accuracy_by_level/3", 0.2f, "eval/heldout_accuracy_by_level/4", 0.05f,
                "knobs/tau", 0.3f, "knobs/max_staleness", 2f, "train/skipped", 1f), read.get(2).scalars());
    }

    @Test
    void aResumedRunOpensANewFileWithASessionStartAtItsFirstStep(@TempDir Path dir) throws Exception {
        try (TensorBoardEvents first = TensorBoardEvents.open(dir, 0)) {
            first.write(JSON.readTree("{\"step\":0,\"loss\":1.5}"));
        }
        try (TensorBoardEvents resumed = TensorBoardEvents.open(dir, 7)) {
            resumed.write(JSON.readTree("{\"step\":7,\"loss\":0.5}"));
        }
        List<TensorBoardEventReader.Event> read = TensorBoardEventReader.readDirectory(dir.resolve("tb"));
        assertEquals(5, read.size());
        assertEquals(1, read.get(3).sessionStatus(), "SessionLog START");
        assertEquals(7, read.get(3).step());
        assertEquals(Map.of("train/loss", 0.5f), read.get(4).scalars());
    }

    @Test
    void aDamagedRecordIsRefusedByTheReader(@TempDir Path dir) throws Exception {
        Path file;
        try (TensorBoardEvents events = TensorBoardEvents.open(dir, 0)) {
            events.write(JSON.readTree("{\"step\":0,\"loss\":1.5}"));
            file = events.file();
        }
        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length - 6] ^= 1; // inside the last record's data
        Files.write(file, bytes);
        assertThrows(IllegalStateException.class, () -> TensorBoardEventReader.read(file));
    }
}
