package ai.eapo.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A weight version in segments. The tiny model's bytes are cut into segments of {@link #SEGMENT} bytes, not a
 * multiple of 4, so tensors and even single floats straddle segments; everything must come out as the one
 * array of little-endian fp32 that versions were before segments.
 */
public class WeightBytesTest {

    static final int SEGMENT = 99;
    /** Loaded before the tests, not with the class, which other packages' tests use for {@link #inSegments}. */
    static PolicyModel tiny;
    /** Piece sizes to receive in, in turn: single bytes, a segment and either side of it, several segments. */
    static final int[] PIECES = {1, 98, 99, 100, 3, 250, 4096, 7};

    @BeforeAll
    static void load() {
        tiny = Checkpoint.load(Path.of("models/tiny-base"), Device.cpu());
    }

    @AfterAll
    static void close() {
        tiny.close();
    }

    /** {@link WeightBytes#of(WeightSnapshot)} in segments of {@code segmentBytes}, for tests in other packages. */
    public static WeightBytes inSegments(WeightSnapshot snapshot, int segmentBytes) {
        return WeightBytes.of(snapshot, segmentBytes);
    }

    static WeightBytes tinyInSegments() {
        WeightSnapshot snapshot = WeightSnapshot.of(tiny, 7);
        try {
            return WeightBytes.of(snapshot, SEGMENT);
        } finally {
            snapshot.release();
        }
    }

    /** The model's values as little-endian fp32, parameter after parameter: the layout of one array. */
    static byte[] oneArray(PolicyModel model) {
        long elements = model.parameters().values().stream().mapToLong(NDArray::size).sum();
        ByteBuffer all = ByteBuffer.allocate(Math.toIntExact(elements * 4)).order(ByteOrder.LITTLE_ENDIAN);
        for (NDArray w : model.parameters().values()) {
            for (float v : w.toFloatArray()) {
                all.putFloat(v);
            }
        }
        return all.array();
    }

    static String crc32c(byte[] bytes) {
        CRC32C crc = new CRC32C();
        crc.update(bytes);
        return String.format("crc32c:%08x", crc.getValue());
    }

    /** Writes {@code bytes} to {@code receiver} in pieces of the sizes of {@link #PIECES}, in turn. */
    static void writeInPieces(WeightBytes.Receiver receiver, byte[] bytes) {
        int at = 0;
        for (int i = 0; at < bytes.length; i++) {
            int size = Math.min(PIECES[i % PIECES.length], bytes.length - at);
            // Every other piece read-only, as an Pekko ByteString's buffer is.
            ByteBuffer piece = ByteBuffer.wrap(bytes, at, size);
            receiver.write(i % 2 == 0 ? piece : piece.asReadOnlyBuffer());
            at += size;
        }
    }

    @Test
    void segmentsHoldTheBytesOfOneArrayWithItsChecksum() {
        byte[] expected = oneArray(tiny);
        WeightBytes bytes = tinyInSegments();

        assertEquals(expected.length, bytes.length());
        assertEquals(crc32c(expected), bytes.checksum());
        assertArrayEquals(expected, bytes.bytes());
        List<byte[]> segments = bytes.segments();
        assertEquals((expected.length + SEGMENT - 1) / SEGMENT, segments.size());
        assertTrue(segments.subList(0, segments.size() - 1).stream().allMatch(s -> s.length == SEGMENT));
        assertEquals(expected.length - (segments.size() - 1) * SEGMENT, segments.get(segments.size() - 1).length);
        // The segment size does not change the checksum: the default segments give the same one.
        WeightSnapshot snapshot = WeightSnapshot.of(tiny, 7);
        try {
            assertEquals(bytes.checksum(), WeightBytes.of(snapshot).checksum());
        } finally {
            snapshot.release();
        }
    }

    @Test
    void piecesOfAnySizeAreReceivedAcrossSegments() {
        byte[] expected = oneArray(tiny);
        WeightBytes.Receiver receiver = WeightBytes.receive(3, WeightLayout.of(tiny), crc32c(expected), SEGMENT);
        assertEquals(expected.length, receiver.expectedLength());
        writeInPieces(receiver, expected);
        assertEquals(expected.length, receiver.received());

        WeightBytes received = receiver.finish();
        assertEquals(crc32c(expected), received.checksum());
        assertEquals(3, received.version());
        assertArrayEquals(expected, received.bytes());
    }

    @Test
    void loadingSegmentedBytesGivesExactlyTheSnapshotsWeights() {
        byte[] oneArray = oneArray(tiny);
        WeightBytes.Receiver receiver = WeightBytes.receive(3, WeightLayout.of(tiny), crc32c(oneArray), SEGMENT);
        writeInPieces(receiver, oneArray);
        Map<String, NDArray> expected = tiny.parameters();
        String first = expected.keySet().iterator().next();
        for (WeightBytes bytes : List.of(tinyInSegments(), receiver.finish())) {
            try (PolicyModel fresh = PolicyModel.random(tiny.config(), Device.cpu(), 3, 0.5f)) {
                assertFalse(Arrays.equals(expected.get(first).toFloatArray(), fresh.parameters().get(first).toFloatArray()),
                        "a fresh model starts from other weights");

                bytes.loadInto(fresh);

                expected.forEach((name, w) -> assertArrayEquals(w.toFloatArray(),
                        fresh.parameters().get(name).toFloatArray(), 0f, name));
            }
        }
    }

    @Test
    void shortLongAndAlteredBytesAreRejected() {
        byte[] bytes = oneArray(tiny);
        WeightLayout layout = WeightLayout.of(tiny);
        String checksum = crc32c(bytes);

        WeightBytes.Receiver shortOne = WeightBytes.receive(1, layout, checksum, SEGMENT);
        writeInPieces(shortOne, Arrays.copyOf(bytes, bytes.length - 1));
        WeightBytes.Rejected tooFew = assertThrows(WeightBytes.Rejected.class, shortOne::finish);
        assertEquals(WeightBytes.Rejected.Reason.SHORT, tooFew.reason());
        assertTrue(tooFew.getMessage().contains((bytes.length - 1) + " of " + bytes.length + " bytes"), tooFew.getMessage());
        assertThrows(IllegalStateException.class, () -> shortOne.write(ByteBuffer.wrap(bytes, 0, 1)), "finished");

        WeightBytes.Receiver longOne = WeightBytes.receive(1, layout, checksum, SEGMENT);
        writeInPieces(longOne, bytes);
        assertEquals(WeightBytes.Rejected.Reason.CORRUPT, assertThrows(WeightBytes.Rejected.class,
                () -> longOne.write(ByteBuffer.wrap(new byte[1]))).reason());
        WeightBytes.Receiver oversized = WeightBytes.receive(1, layout, checksum, SEGMENT);
        assertEquals(WeightBytes.Rejected.Reason.CORRUPT, assertThrows(WeightBytes.Rejected.class,
                () -> oversized.write(ByteBuffer.wrap(Arrays.copyOf(bytes, bytes.length + 1)))).reason());
        assertEquals(0, oversized.received(), "a piece past the end is not taken in part");

        // One bit flipped in a float that straddles two segments (SEGMENT is not a multiple of 4).
        byte[] altered = bytes.clone();
        altered[SEGMENT * 1001] ^= 0x10; // byte 99,099: the last of the float at 99,096
        WeightBytes.Receiver alteredOne = WeightBytes.receive(1, layout, checksum, SEGMENT);
        writeInPieces(alteredOne, altered);
        WeightBytes.Rejected corrupt = assertThrows(WeightBytes.Rejected.class, alteredOne::finish);
        assertEquals(WeightBytes.Rejected.Reason.CORRUPT, corrupt.reason());
        assertTrue(corrupt.getMessage().contains("announced " + checksum), corrupt.getMessage());
    }

    @Test
    void segmentArithmeticReachesPastTwoGiB() {
        // Qwen2.5-Math-1.5B in fp32, about 6.2 GB: 92 full segments of 64 MiB (6,174,015,488 bytes) and the rest.
        long qwen = 6_200_000_000L;
        int[] lengths = WeightBytes.segmentLengths(qwen, WeightBytes.SEGMENT_BYTES);
        assertEquals(93, lengths.length);
        assertEquals(67_108_864, WeightBytes.SEGMENT_BYTES);
        assertEquals(67_108_864, lengths[91]);
        assertEquals(25_984_512, lengths[92]);
        assertEquals(qwen, Arrays.stream(lengths).asLongStream().sum());

        assertArrayEquals(new int[]{10, 10}, WeightBytes.segmentLengths(20, 10));
        assertArrayEquals(new int[]{10, 10, 1}, WeightBytes.segmentLengths(21, 10));
        assertArrayEquals(new int[0], WeightBytes.segmentLengths(0, 10));
        IllegalArgumentException absurd = assertThrows(IllegalArgumentException.class,
                () -> WeightBytes.segmentLengths(Long.MAX_VALUE, 1));
        assertTrue(absurd.getMessage().contains(Long.MAX_VALUE + " bytes"), absurd.getMessage());

        // 3e9 bytes in: segment 44 (44 x 64 MiB = 2,952,790,016), 47,209,984 bytes into it; a range of one
        // segment and 10 bytes from there ends 47,209,994 bytes into segment 45.
        List<List<Long>> parts = new ArrayList<>();
        WeightBytes.forEachPart(3_000_000_000L, WeightBytes.SEGMENT_BYTES + 10L, WeightBytes.SEGMENT_BYTES,
                (segment, offset, length) -> parts.add(List.of((long) segment, (long) offset, (long) length)));
        assertEquals(List.of(List.of(44L, 47_209_984L, 19_898_880L), List.of(45L, 0L, 47_209_994L)), parts);
    }
}
