package ai.eapo.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * One weight version as host bytes, the form in which it crosses nodes: the tensors of its {@link WeightLayout}
 * as little-endian fp32, one after the other in layout order, in one array, with a checksum of all of them.
 *
 * <p>A {@code WeightBytes} is either made from a {@link WeightSnapshot} on the learner's node ({@link #of}) or
 * received ({@link #receive}, {@link #verified}): a received one exists only once its length and checksum
 * have been verified, so whatever a node loads ({@link #loadInto}) is exactly what was published.
 *
 * <p>The checksum is a string {@code "<algorithm>:<hex>"}. Versions are published with CRC32C (about 6.5 GB/s
 * on one core here, against 1.3 GB/s for SHA-256 with the SHA extensions: 15 ms instead of 77 ms for 100 MB):
 * it guards against truncation and corruption in transit, not against a forger, which is what Artery's
 * mutual TLS is for. A receiver follows the algorithm the checksum names; {@code sha256} is accepted too.
 *
 * <p>The bytes are one Java array, so a version must stay below 2 GiB (about 530M fp32 parameters).
 */
public final class WeightBytes {

    /** The algorithm of the checksums this class makes. */
    public static final String ALGORITHM = "crc32c";

    /** Largest array the JVM reliably allocates. */
    public static final long MAX_BYTES = Integer.MAX_VALUE - 8;

    private final long version;
    private final WeightLayout layout;
    private final byte[] bytes;
    private final String checksum;

    private WeightBytes(long version, WeightLayout layout, byte[] bytes, String checksum) {
        this.version = version;
        this.layout = layout;
        this.bytes = bytes;
        this.checksum = checksum;
    }

    /**
     * The bytes and CRC32C checksum of {@code snapshot}; the caller keeps its reference to the snapshot.
     * Throws {@link IllegalStateException} when the snapshot was already freed.
     */
    public static WeightBytes of(WeightSnapshot snapshot) {
        WeightLayout layout = snapshot.layout();
        byte[] bytes = new byte[arrayLength(layout)];
        if (!snapshot.copyBytes(bytes)) {
            throw new IllegalStateException("weight version " + snapshot.version() + " was released before its bytes were taken");
        }
        return new WeightBytes(snapshot.version(), layout, bytes, checksum(bytes));
    }

    /** {@code "crc32c:<8 hex digits>"} of {@code bytes}. */
    public static String checksum(byte[] bytes) {
        Digest digest = Digest.of(ALGORITHM);
        digest.update(bytes, 0, bytes.length);
        return digest.value();
    }

    /**
     * Received bytes of version {@code version}, once they have the length of {@code layout} and the announced
     * {@code checksum}; throws {@link Rejected} otherwise.
     */
    public static WeightBytes verified(long version, WeightLayout layout, String checksum, byte[] bytes) {
        Receiver receiver = receive(version, layout, checksum);
        receiver.write(bytes, 0, bytes.length);
        return receiver.finish();
    }

    /** Receives version {@code version} piece by piece into one preallocated array, checksumming as it goes. */
    public static Receiver receive(long version, WeightLayout layout, String checksum) {
        return new Receiver(version, layout, checksum);
    }

    public long version() {
        return version;
    }

    public WeightLayout layout() {
        return layout;
    }

    public String checksum() {
        return checksum;
    }

    public int length() {
        return bytes.length;
    }

    /** The bytes themselves, not a copy: never modify them (a server streams them to every node). */
    public byte[] bytes() {
        return bytes;
    }

    /**
     * Overwrites {@code model}'s weights with this version. Checks first that the layout fits the model (an
     * {@link IllegalArgumentException} naming the first mismatching tensor changes nothing); the host copies
     * live in a sub-manager of the model's device that is closed before returning.
     */
    public void loadInto(PolicyModel model) {
        layout.requireMatches(model);
        // One host copy the engine reads in place (from_blob), sliced per tensor; freed with its last reference.
        ByteBuffer host = ByteBuffer.allocateDirect(bytes.length).order(ByteOrder.nativeOrder());
        if (ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN) {
            host.put(bytes);
        } else {
            host.asFloatBuffer().put(ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer());
        }
        try (NDManager work = NDManager.newBaseManager(model.device())) {
            Map<String, NDArray> source = new LinkedHashMap<>();
            int offset = 0;
            for (WeightLayout.Tensor t : layout.tensors()) {
                int length = (int) t.bytes();
                ByteBuffer slice = host.slice(offset, length).order(ByteOrder.nativeOrder());
                source.put(t.name(), work.create(slice, new Shape(t.shape()), DataType.FLOAT32));
                offset += length;
            }
            model.loadWeights(source);
        }
    }

    @Override
    public String toString() {
        return "WeightBytes[version=" + version + ", " + bytes.length + " bytes, " + checksum + "]";
    }

    private static int arrayLength(WeightLayout layout) {
        long total = layout.totalBytes();
        if (total > MAX_BYTES) {
            throw new IllegalArgumentException("a weight version of " + total + " bytes does not fit one array (at most "
                    + MAX_BYTES + ")");
        }
        return (int) total;
    }

    /** Received bytes that do not match what was announced: too few, too many, or another checksum. */
    public static final class Rejected extends RuntimeException {

        public enum Reason {
            /** Fewer bytes than the layout holds. */
            SHORT,
            /** More bytes than the layout holds, or a checksum other than the announced one. */
            CORRUPT
        }

        private final Reason reason;

        Rejected(Reason reason, String message) {
            super(message);
            this.reason = reason;
        }

        public Reason reason() {
            return reason;
        }
    }

    /**
     * Fills one array of the announced length with successive pieces and checksums them on the way;
     * {@link #finish} hands out the bytes only when they are complete and match the checksum. Not thread-safe:
     * one writer at a time (a stream's elements arrive one after the other).
     */
    public static final class Receiver {
        private final long version;
        private final WeightLayout layout;
        private final String expected;
        private final Digest digest;
        private final byte[] bytes;
        private int filled;
        private boolean finished;

        private Receiver(long version, WeightLayout layout, String expected) {
            this.version = version;
            this.layout = layout;
            this.expected = expected;
            this.digest = Digest.of(algorithmOf(expected));
            this.bytes = new byte[arrayLength(layout)];
        }

        /** Appends {@code length} bytes of {@code piece}; throws {@link Rejected} (CORRUPT) past the announced length. */
        public void write(byte[] piece, int offset, int length) {
            requireRoom(length);
            System.arraycopy(piece, offset, bytes, filled, length);
            digest.update(bytes, filled, length);
            filled += length;
        }

        /** Appends a piece that copies itself into {@code (array, offset)} (e.g. an Akka ByteString). */
        public void write(int length, PieceCopier copier) {
            requireRoom(length);
            copier.copyTo(bytes, filled);
            digest.update(bytes, filled, length);
            filled += length;
        }

        /** A piece that copies its bytes into an array at an offset. */
        @FunctionalInterface
        public interface PieceCopier {
            void copyTo(byte[] array, int offset);
        }

        public int received() {
            return filled;
        }

        public int expectedLength() {
            return bytes.length;
        }

        /** The verified bytes; throws {@link Rejected} when they are short or do not match the checksum. */
        public WeightBytes finish() {
            if (finished) {
                throw new IllegalStateException("version " + version + " was already finished");
            }
            finished = true;
            if (filled < bytes.length) {
                throw new Rejected(Rejected.Reason.SHORT, "weight version " + version + " is short: " + filled
                        + " of " + bytes.length + " bytes");
            }
            String actual = digest.value();
            if (!actual.equals(expected)) {
                throw new Rejected(Rejected.Reason.CORRUPT, "weight version " + version + " is corrupt: checksum "
                        + actual + ", announced " + expected);
            }
            return new WeightBytes(version, layout, bytes, expected);
        }

        private void requireRoom(int length) {
            if (finished) {
                throw new IllegalStateException("version " + version + " was already finished");
            }
            if (length > bytes.length - filled) {
                throw new Rejected(Rejected.Reason.CORRUPT, "weight version " + version + " is corrupt: more than the "
                        + bytes.length + " bytes of its layout");
            }
        }
    }

    private static String algorithmOf(String checksum) {
        int colon = checksum.indexOf(':');
        if (colon < 0) {
            throw new IllegalArgumentException("checksum '" + checksum + "' does not name its algorithm (\"crc32c:...\")");
        }
        return checksum.substring(0, colon);
    }

    /** An incremental checksum of one of the supported algorithms. */
    private abstract static sealed class Digest {

        static Digest of(String algorithm) {
            return switch (algorithm) {
                case "crc32c" -> new Crc32c();
                case "sha256" -> new Sha256();
                default -> throw new IllegalArgumentException("unknown checksum algorithm '" + algorithm
                        + "' (crc32c or sha256)");
            };
        }

        abstract void update(byte[] bytes, int offset, int length);

        abstract String value();

        private static final class Crc32c extends Digest {
            private final CRC32C crc = new CRC32C();

            @Override
            void update(byte[] bytes, int offset, int length) {
                crc.update(bytes, offset, length);
            }

            @Override
            String value() {
                return "crc32c:" + String.format("%08x", crc.getValue());
            }
        }

        private static final class Sha256 extends Digest {
            private final MessageDigest sha;

            Sha256() {
                try {
                    sha = MessageDigest.getInstance("SHA-256");
                } catch (NoSuchAlgorithmException e) {
                    throw new IllegalStateException("every JVM has SHA-256", e);
                }
            }

            @Override
            void update(byte[] bytes, int offset, int length) {
                sha.update(bytes, offset, length);
            }

            @Override
            String value() {
                return "sha256:" + HexFormat.of().formatHex(sha.digest());
            }
        }
    }
}
