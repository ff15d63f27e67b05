package ai.eapo.report;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.zip.CRC32C;

/**
 * A run's TensorBoard event file ({@code tb/events.out.tfevents.*}): one scalar per metrics.jsonl key per learner
 * step, so {@code tensorboard --logdir results} shows every run side by side.
 *
 * <p>Written by hand because the format is small and no kept Java library writes it without TensorFlow's
 * hundreds of megabytes: a file is a sequence of TFRecords ({@code uint64 length, uint32 masked CRC32C of the
 * length, data, uint32 masked CRC32C of the data}, little-endian), each holding one protobuf {@code Event}
 * (tensorflow/core/util/event.proto): {@code double wall_time = 1; int64 step = 2; string file_version = 3;
 * Summary summary = 5; SessionLog session_log = 7}, where {@code Summary} is {@code repeated Value value = 1} and
 * {@code Value} is {@code string tag = 1; float simple_value = 2}. Only these fields are written.
 *
 * <p>Tags are grouped as TensorBoard's sections: {@code eval/} (held-out accuracy), {@code eapo/} (the
 * experience mechanism), {@code perf/} (throughput and memory), {@code knobs/} (live knob changes, at the step whose
 * metrics line reports them) and {@code train/} (everything else). Nested objects become {@code parent/child} tags;
 * booleans are 0/1; nulls and text are left out (TensorBoard scalars are numbers).
 */
public final class TensorBoardEvents implements AutoCloseable {

    /** The directory of a run's event files. */
    public static final String DIRECTORY = "tb";
    static final String FILE_VERSION = "brain.Event:2";
    /** The constant TensorFlow adds to the rotated CRC (tensorflow/core/lib/hash/crc32c.h). */
    private static final int MASK_DELTA = 0xa282ead8;
    private static final int SESSION_START = 1;

    private static final Set<String> EAPO = Set.of("alpha", "tau", "annealing_steps", "ea_accuracy",
            "policy_accuracy", "resampled_ratio", "kept_mass_mean", "is_weight_mean", "ea_groups", "ea_uniform_groups",
            "replay");
    private static final Set<String> PERF = Set.of("tokens", "tokens_per_s", "staleness_mean", "mixed_cache_share",
            "weight_version", "refills", "resident_mb", "peak_resident_mb", "mismatch_kl", "mismatch_max_ratio");
    private static final String EVAL_PREFIX = "heldout_";
    private static final String KNOBS_KEY = "knobs_changed";

    private final OutputStream out;
    private final Path file;

    private TensorBoardEvents(Path file, OutputStream out) {
        this.file = file;
        this.out = out;
    }

    /**
     * Opens a new event file in {@code runDir/tb/}. A run resumed at {@code firstStep} > 0 starts its file with a
     * session start at that step, which tells TensorBoard to drop the earlier file's points from that step on
     * (they are trained again).
     */
    public static TensorBoardEvents open(Path runDir, long firstStep) {
        Path dir = runDir.resolve(DIRECTORY);
        double now = System.currentTimeMillis() / 1000.0;
        // TensorFlow's name; TensorBoard reads a directory's files in name order, so a second file opened in the
        // same second (a quick resume) gets a suffix that sorts after the first.
        String name = String.format("events.out.tfevents.%d.%s.%d", (long) now, hostName(),
                ProcessHandle.current().pid());
        Path file = dir.resolve(name);
        try {
            Files.createDirectories(dir);
            for (int n = 1; Files.exists(file); n++) {
                file = dir.resolve(name + "." + n);
            }
            TensorBoardEvents events = new TensorBoardEvents(file,
                    Files.newOutputStream(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE));
            events.append(fileVersionEvent(now));
            if (firstStep > 0) {
                events.append(sessionStartEvent(now, firstStep));
            }
            return events;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write TensorBoard events to " + file, e);
        }
    }

    /** Writes a metrics.jsonl line as the scalars of its {@code step}. */
    public void write(JsonNode metricsLine) {
        Map<String, Float> scalars = scalars(metricsLine);
        append(scalarEvent(System.currentTimeMillis() / 1000.0, metricsLine.path("step").asLong(), scalars));
    }

    /** The TensorBoard tag and value of every number in a metrics.jsonl line (its {@code step} excepted). */
    public static Map<String, Float> scalars(JsonNode metricsLine) {
        Map<String, Float> scalars = new LinkedHashMap<>();
        metricsLine.fields().forEachRemaining(field -> {
            if (!field.getKey().equals("step")) {
                flatten(section(field.getKey()) + "/" + field.getKey(), field.getValue(), scalars);
            }
        });
        return scalars;
    }

    private static String section(String key) {
        if (key.startsWith(EVAL_PREFIX)) {
            return "eval";
        } else if (key.equals(KNOBS_KEY)) {
            return "knobs";
        }
        return EAPO.contains(key) ? "eapo" : PERF.contains(key) ? "perf" : "train";
    }

    private static void flatten(String tag, JsonNode value, Map<String, Float> into) {
        if (value.isObject()) {
            // knobs_changed holds the knobs themselves: knobs/tau rather than knobs/knobs_changed/tau.
            String prefix = tag.equals("knobs/" + KNOBS_KEY) ? "knobs" : tag;
            value.fields().forEachRemaining(f -> flatten(prefix + "/" + f.getKey(), f.getValue(), into));
        } else if (value.isNumber()) {
            into.put(tag, value.floatValue());
        } else if (value.isBoolean()) {
            into.put(tag, value.booleanValue() ? 1f : 0f);
        } else if (value.isTextual()) {
            try {
                into.put(tag, Float.parseFloat(value.textValue()));
            } catch (NumberFormatException notANumber) {
                // text such as checkpoint_failed stays in metrics.jsonl only
            }
        }
    }

    public Path file() {
        return file;
    }

    @Override
    public void close() throws IOException {
        out.close();
    }

    private void append(byte[] event) {
        try {
            out.write(record(event));
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write TensorBoard events to " + file, e);
        }
    }

    // ---- the format: TFRecord framing and the protobuf encoding of Event ----

    static byte[] fileVersionEvent(double wallTime) {
        Protobuf event = new Protobuf().fixed64(1, Double.doubleToLongBits(wallTime));
        return event.bytes(3, FILE_VERSION.getBytes(StandardCharsets.UTF_8)).toByteArray();
    }

    static byte[] sessionStartEvent(double wallTime, long step) {
        byte[] sessionLog = new Protobuf().varint(1, SESSION_START).toByteArray();
        return new Protobuf().fixed64(1, Double.doubleToLongBits(wallTime)).varint(2, step)
                .bytes(7, sessionLog).toByteArray();
    }

    static byte[] scalarEvent(double wallTime, long step, Map<String, Float> scalars) {
        Protobuf summary = new Protobuf();
        scalars.forEach((tag, value) -> summary.bytes(1, new Protobuf()
                .bytes(1, tag.getBytes(StandardCharsets.UTF_8))
                .fixed32(2, Float.floatToIntBits(value)).toByteArray()));
        return new Protobuf().fixed64(1, Double.doubleToLongBits(wallTime)).varint(2, step)
                .bytes(5, summary.toByteArray()).toByteArray();
    }

    /** One TFRecord around {@code data}. */
    static byte[] record(byte[] data) {
        ByteBuffer header = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putLong(data.length);
        header.putInt(maskedCrc32c(header.array(), 0, 8));
        ByteBuffer record = ByteBuffer.allocate(12 + data.length + 4).order(ByteOrder.LITTLE_ENDIAN);
        return record.put(header.array()).put(data).putInt(maskedCrc32c(data, 0, data.length)).array();
    }

    /** TFRecord's masked CRC32C: rotated right by 15 bits plus a constant, so a CRC of CRCs stays well spread. */
    static int maskedCrc32c(byte[] bytes, int offset, int length) {
        CRC32C crc = new CRC32C();
        crc.update(bytes, offset, length);
        int value = (int) crc.getValue();
        return ((value >>> 15) | (value << 17)) + MASK_DELTA;
    }

    /** The protobuf wire format, the three field kinds Event needs. */
    private static final class Protobuf {
        private static final int VARINT = 0;
        private static final int FIXED64 = 1;
        private static final int LENGTH_DELIMITED = 2;
        private static final int FIXED32 = 5;

        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Protobuf varint(int field, long value) {
            key(field, VARINT);
            raw(value);
            return this;
        }

        Protobuf fixed64(int field, long bits) {
            key(field, FIXED64);
            for (int i = 0; i < Long.BYTES; i++) {
                out.write((int) (bits >>> (8 * i)));
            }
            return this;
        }

        Protobuf fixed32(int field, int bits) {
            key(field, FIXED32);
            for (int i = 0; i < Integer.BYTES; i++) {
                out.write(bits >>> (8 * i));
            }
            return this;
        }

        Protobuf bytes(int field, byte[] value) {
            key(field, LENGTH_DELIMITED);
            raw(value.length);
            out.writeBytes(value);
            return this;
        }

        byte[] toByteArray() {
            return out.toByteArray();
        }

        private void key(int field, int wireType) {
            raw(((long) field << 3) | wireType);
        }

        private void raw(long value) {
            while ((value & ~0x7FL) != 0) {
                out.write((int) ((value & 0x7F) | 0x80));
                value >>>= 7;
            }
            out.write((int) value);
        }
    }

    private static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "localhost";
        }
    }
}
