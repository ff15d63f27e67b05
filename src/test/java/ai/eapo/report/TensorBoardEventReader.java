package ai.eapo.report;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * Reads TensorBoard event files independently of {@link TensorBoardEvents}: checks both masked CRC32C values of
 * every record (computed here from the published definition, not with the writer's code) and decodes the protobuf
 * fields of each {@code Event}, failing on any field number or wire type the writer has no business emitting.
 */
public final class TensorBoardEventReader {

    /** One decoded {@code Event}; {@code sessionStatus} is 0 when it holds no session log. */
    public record Event(double wallTime, long step, String fileVersion, Map<String, Float> scalars,
                        int sessionStatus) {
    }

    private TensorBoardEventReader() {
    }

    /** Every event of every event file in {@code dir}, files in name order. */
    public static List<Event> readDirectory(Path dir) throws IOException {
        List<Event> events = new ArrayList<>();
        try (var files = Files.list(dir)) {
            for (Path file : files.filter(f -> f.getFileName().toString().contains("tfevents")).sorted().toList()) {
                events.addAll(read(file));
            }
        }
        return events;
    }

    public static List<Event> read(Path file) throws IOException {
        ByteBuffer in = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        List<Event> events = new ArrayList<>();
        while (in.hasRemaining()) {
            byte[] header = new byte[8];
            in.get(header);
            check(in.getInt(), header, "length", file, events.size());
            long length = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN).getLong();
            byte[] data = new byte[Math.toIntExact(length)];
            in.get(data);
            check(in.getInt(), data, "data", file, events.size());
            events.add(event(data));
        }
        return events;
    }

    private static void check(int stored, byte[] bytes, String what, Path file, int record) {
        CRC32C crc = new CRC32C();
        crc.update(bytes);
        long value = crc.getValue();
        // tensorflow/core/lib/hash/crc32c.h: ((crc >> 15) | (crc << 17)) + 0xa282ead8, in 32-bit arithmetic
        long masked = (((value >>> 15) | (value << 17)) + 0xa282ead8L) & 0xFFFFFFFFL;
        if ((stored & 0xFFFFFFFFL) != masked) {
            throw new IllegalStateException(String.format("%s record %d: %s CRC %08x, expected %08x", file, record,
                    what, stored, masked));
        }
    }

    private static Event event(byte[] data) {
        Wire wire = new Wire(data);
        double wallTime = 0;
        long step = 0;
        String fileVersion = null;
        Map<String, Float> scalars = new LinkedHashMap<>();
        int sessionStatus = 0;
        while (wire.more()) {
            long key = wire.varint();
            int field = (int) (key >>> 3);
            int type = (int) (key & 7);
            switch (field * 8 + type) {
                case 1 * 8 + 1 -> wallTime = Double.longBitsToDouble(wire.fixed64());
                case 2 * 8 + 0 -> step = wire.varint();
                case 3 * 8 + 2 -> fileVersion = new String(wire.bytes(), StandardCharsets.UTF_8);
                case 5 * 8 + 2 -> summary(wire.bytes(), scalars);
                case 7 * 8 + 2 -> sessionStatus = sessionStatus(wire.bytes());
                default -> throw new IllegalStateException("unexpected Event field " + field + " of wire type " + type);
            }
        }
        return new Event(wallTime, step, fileVersion, scalars, sessionStatus);
    }

    private static void summary(byte[] data, Map<String, Float> into) {
        Wire wire = new Wire(data);
        while (wire.more()) {
            if (wire.varint() != (1 << 3 | 2)) {
                throw new IllegalStateException("Summary holds only repeated Value value = 1");
            }
            Wire value = new Wire(wire.bytes());
            String tag = null;
            Float simple = null;
            while (value.more()) {
                long key = value.varint();
                if (key == (1 << 3 | 2)) {
                    tag = new String(value.bytes(), StandardCharsets.UTF_8);
                } else if (key == (2 << 3 | 5)) {
                    simple = Float.intBitsToFloat(value.fixed32());
                } else {
                    throw new IllegalStateException("unexpected Summary.Value key " + key);
                }
            }
            if (tag == null || simple == null || into.put(tag, simple) != null) {
                throw new IllegalStateException("a Value needs one tag and one simple_value, tags once: " + tag);
            }
        }
    }

    private static int sessionStatus(byte[] data) {
        Wire wire = new Wire(data);
        int status = 0;
        while (wire.more()) {
            if (wire.varint() != (1 << 3)) {
                throw new IllegalStateException("SessionLog holds only its status here");
            }
            status = (int) wire.varint();
        }
        return status;
    }

    /** The protobuf wire format, read. */
    private static final class Wire {
        private final ByteBuffer in;

        Wire(byte[] data) {
            in = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        }

        boolean more() {
            return in.hasRemaining();
        }

        long varint() {
            long value = 0;
            for (int shift = 0; ; shift += 7) {
                byte b = in.get();
                value |= (long) (b & 0x7F) << shift;
                if (b >= 0) {
                    return value;
                }
            }
        }

        long fixed64() {
            return in.getLong();
        }

        int fixed32() {
            return in.getInt();
        }

        byte[] bytes() {
            byte[] bytes = new byte[Math.toIntExact(varint())];
            in.get(bytes);
            return bytes;
        }
    }
}
