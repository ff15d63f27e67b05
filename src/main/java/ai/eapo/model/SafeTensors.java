package ai.eapo.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.eapo.UserInputException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.security.MessageDigest;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The safetensors format: an 8-byte little-endian header length, a JSON header naming each tensor's dtype,
 * shape and byte range, then the raw data. Reads BF16 / F16 / F32 and always hands back fp32 NDArrays
 * (on CPU bf16 arithmetic is unsupported in DJL, so the conversion is done here, in Java).
 */
public final class SafeTensors {

    /** Larger headers are refused: real checkpoints stay far below this, a corrupt length does not. */
    static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;
    /** fp32 bytes of the largest slice of rows read or written at once: a buffer holds at most 2 GiB. */
    static final long SLICE_BYTES = 256L * 1024 * 1024;
    /** Buffer of the stream a checkpoint file is written through (an I/O detail: large sequential writes). */
    private static final int WRITE_BUFFER_BYTES = 1 << 20;
    /** {@link #rowsPerSlice}: the tensor goes whole. */
    private static final long WHOLE = -1;

    /**
     * Rows of a tensor of {@code shape} ({@code elements} in all) per slice of at most {@code sliceBytes} fp32 bytes
     * (at least one row), or {@link #WHOLE} when it fits one slice or has no rows to cut.
     */
    private static long rowsPerSlice(long[] shape, long elements, long sliceBytes) {
        if (shape.length < 2 || elements * 4 <= sliceBytes) {
            return WHOLE;
        }
        return Math.max(1, sliceBytes / (elements / shape[0] * 4));
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    /** One tensor's entry in a file's header. */
    public record Entry(String name, String dtype, long[] shape, long begin, long end) {
        long elements() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }
    }

    /** The tensors one file holds, in header order; the data is read on demand. */
    public static final class File implements AutoCloseable {
        private final Path path;
        private final FileChannel channel;
        private final long dataStart;
        private final Map<String, Entry> entries;

        private File(Path path, FileChannel channel, long dataStart, Map<String, Entry> entries) {
            this.path = path;
            this.channel = channel;
            this.dataStart = dataStart;
            this.entries = entries;
        }

        public Map<String, Entry> entries() {
            return entries;
        }

        /**
         * Feeds {@code digest} every tensor's name, dtype and shape and the first and last {@code edgeBytes} of
         * its data, in header order: a cheap fingerprint of the file's contents (a fine-tune changes every
         * tensor, and almost surely its edges) without reading it whole.
         */
        public void digestEdges(MessageDigest digest, int edgeBytes) throws IOException {
            for (Entry e : entries.values()) {
                digest.update((e.name() + "|" + e.dtype() + "|" + Arrays.toString(e.shape()) + "\n")
                        .getBytes(StandardCharsets.UTF_8));
                long length = e.end() - e.begin();
                digestRange(digest, dataStart + e.begin(), Math.min(edgeBytes, length));
                digestRange(digest, dataStart + e.end() - Math.min(edgeBytes, length), Math.min(edgeBytes, length));
            }
        }

        private void digestRange(MessageDigest digest, long from, long bytes) throws IOException {
            ByteBuffer buffer = ByteBuffer.allocate((int) bytes);
            long pos = from;
            while (buffer.hasRemaining()) {
                int n = channel.read(buffer, pos);
                if (n < 0) {
                    throw new UserInputException(path + ": file is truncated");
                }
                pos += n;
            }
            digest.update(buffer.array());
        }

        public Path path() {
            return path;
        }

        /**
         * Loads one tensor as fp32 into {@code manager}, in memory the engine owns. DJL's create keeps a view of
         * the Java direct buffer it is given (from_blob), so weights loaded that way counted against the JVM's
         * direct-memory limit (the heap's size by default: a 1.5B model's 6.2 GB did not load) and lived as long
         * as the garbage collector let them; the values are copied out and the buffer freed at once.
         */
        public NDArray load(String name, NDManager manager) {
            return load(name, manager, DataType.FLOAT32);
        }

        /** {@link #load(String, NDManager)} converted to {@code type} (fp32 or fp16), one tensor at a time. */
        public NDArray load(String name, NDManager manager, DataType type) {
            return load(name, manager, type, SLICE_BYTES);
        }

        /**
         * Reads a tensor whose fp32 values take more than {@code sliceBytes} a slice of rows at a time into an array
         * of its full shape: no buffer holds more than 2 GiB (Qwen2.5-Math-7B's and Qwen3-8B's embeddings are 2.2
         * and 2.5 GB in fp32), and the transient buffers stay small.
         */
        NDArray load(String name, NDManager manager, DataType type, long sliceBytes) {
            Entry e = entries.get(name);
            if (e == null) {
                throw new UserInputException(path + ": no tensor named '" + name + "'");
            }
            checkSize(e);
            long[] shape = e.shape();
            long rowsPerSlice = rowsPerSlice(shape, e.elements(), sliceBytes);
            if (rowsPerSlice == WHOLE) {
                return loadRows(e, 0, e.elements(), new Shape(shape), manager, type);
            }
            long rowElements = e.elements() / shape[0];
            if (rowElements * 4 * rowsPerSlice > Integer.MAX_VALUE) {
                throw new UserInputException(path + ": tensor '" + e.name() + "' has rows of more than 2 GiB in fp32");
            }
            NDArray whole = manager.zeros(new Shape(shape), type);
            try {
                for (long row = 0; row < shape[0]; row += rowsPerSlice) {
                    long rows = Math.min(rowsPerSlice, shape[0] - row);
                    long[] sliceShape = shape.clone();
                    sliceShape[0] = rows;
                    try (NDArray slice = loadRows(e, row * rowElements, rows * rowElements, new Shape(sliceShape),
                            manager, type)) {
                        whole.set(new NDIndex("{}:{}", row, row + rows), slice);
                    }
                }
                return whole;
            } catch (RuntimeException ex) {
                whole.close();
                throw ex;
            }
        }

        /** Elements [first, first + count) of tensor {@code e}, shaped {@code shape}, in {@code type}. */
        private NDArray loadRows(Entry e, long first, long count, Shape shape, NDManager manager, DataType type) {
            ByteBuffer floats = readFloats(e, first, count);
            // The direct ByteBuffer itself: given a FloatBuffer view, DJL copies it into a direct buffer of its own.
            try (NDArray view = manager.create(floats, shape, DataType.FLOAT32)) {
                return type == DataType.FLOAT32 ? view.duplicate() : view.toType(type, true);
            } finally {
                DirectBuffers.free(floats);
            }
        }

        /** Refuses a tensor whose byte range does not match its shape and dtype. */
        private void checkSize(Entry e) {
            int width = bytesPerElement(e.dtype(), path, e.name());
            long bytes = e.end() - e.begin();
            if (bytes != e.elements() * width) {
                throw new UserInputException(path + ": tensor '" + e.name() + "' has " + bytes + " bytes, its shape "
                        + new Shape(e.shape()) + " and dtype " + e.dtype() + " need " + e.elements() * width);
            }
        }

        /**
         * Elements [first, first + count) of tensor {@code e} as fp32 in native order, in a new direct buffer (the
         * caller frees it).
         */
        private ByteBuffer readFloats(Entry e, long first, long count) {
            int width = bytesPerElement(e.dtype(), path, e.name());
            long bytes = count * width;
            // Direct and freed here: on the heap, a checkpoint's worth of read buffers stayed resident as garbage.
            ByteBuffer raw = ByteBuffer.allocateDirect((int) bytes).order(ByteOrder.LITTLE_ENDIAN);
            try {
                long pos = dataStart + e.begin() + first * width;
                while (raw.hasRemaining()) {
                    int n = channel.read(raw, pos);
                    if (n < 0) {
                        throw new UserInputException(path + ": file is truncated inside tensor '" + e.name() + "'");
                    }
                    pos += n;
                }
                raw.flip();
                ByteBuffer direct = ByteBuffer.allocateDirect((int) (count * 4)).order(ByteOrder.nativeOrder());
                FloatBuffer out = direct.asFloatBuffer();
                switch (e.dtype()) {
                    case "F32" -> out.put(raw.asFloatBuffer());
                    case "BF16" -> {
                        while (raw.hasRemaining()) {
                            out.put(Float.intBitsToFloat((raw.getShort() & 0xffff) << 16));
                        }
                    }
                    case "F16" -> {
                        while (raw.hasRemaining()) {
                            out.put(halfToFloat(raw.getShort()));
                        }
                    }
                    default -> throw new IllegalStateException("dtype checked above");
                }
                return direct;
            } catch (IOException ex) {
                throw new UserInputException(path + ": cannot read tensor '" + e.name() + "': " + ex.getMessage(), ex);
            } finally {
                DirectBuffers.free(raw);
            }
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }

    public static File open(Path path) {
        if (!Files.isRegularFile(path)) {
            throw new UserInputException("missing safetensors file " + path);
        }
        try {
            FileChannel channel = FileChannel.open(path, StandardOpenOption.READ);
            try {
                return parseHeader(path, channel);
            } catch (RuntimeException e) {
                channel.close();
                throw e;
            }
        } catch (IOException e) {
            throw new UserInputException("cannot open " + path + ": " + e.getMessage(), e);
        }
    }

    private static File parseHeader(Path path, FileChannel channel) throws IOException {
        long size = channel.size();
        if (size < 8) {
            throw new UserInputException(path + ": truncated safetensors file (" + size + " bytes, no header length)");
        }
        ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        channel.read(lenBuf, 0);
        long headerLen = lenBuf.flip().getLong();
        if (headerLen < 2 || headerLen > MAX_HEADER_BYTES) {
            throw new UserInputException(path + ": safetensors header length " + headerLen
                    + " is invalid (must be between 2 and " + MAX_HEADER_BYTES + " bytes)");
        }
        if (8 + headerLen > size) {
            throw new UserInputException(path + ": truncated safetensors header (header says " + headerLen
                    + " bytes, file has " + (size - 8) + ")");
        }
        ByteBuffer headerBuf = ByteBuffer.allocate((int) headerLen);
        channel.read(headerBuf, 8);
        JsonNode header;
        try {
            header = JSON.readTree(new String(headerBuf.array(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UserInputException(path + ": safetensors header is not valid JSON");
        }
        if (!(header instanceof ObjectNode)) {
            throw new UserInputException(path + ": safetensors header is not a JSON object");
        }
        long dataLen = size - 8 - headerLen;
        Map<String, Entry> entries = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            if (f.getKey().equals("__metadata__")) {
                continue;
            }
            JsonNode t = f.getValue();
            JsonNode shapeNode = t.path("shape");
            JsonNode offsets = t.path("data_offsets");
            if (!shapeNode.isArray() || !offsets.isArray() || offsets.size() != 2) {
                throw new UserInputException(path + ": malformed header entry for tensor '" + f.getKey() + "'");
            }
            long[] shape = new long[shapeNode.size()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = shapeNode.get(i).asLong();
            }
            long begin = offsets.get(0).asLong();
            long end = offsets.get(1).asLong();
            if (begin < 0 || end < begin || end > dataLen) {
                throw new UserInputException(path + ": tensor '" + f.getKey() + "' spans bytes [" + begin + ", " + end
                        + ") but the file holds " + dataLen + " data bytes (truncated?)");
            }
            String dtype = t.path("dtype").asText();
            bytesPerElement(dtype, path, f.getKey());
            entries.put(f.getKey(), new Entry(f.getKey(), dtype, shape, begin, end));
        }
        return new File(path, channel, 8 + headerLen, entries);
    }

    static int bytesPerElement(String dtype, Path path, String tensor) {
        return switch (dtype) {
            case "F32" -> 4;
            case "BF16", "F16" -> 2;
            default -> throw new UserInputException(path + ": tensor '" + tensor + "' has unsupported dtype " + dtype
                    + " (supported: BF16, F16, F32)");
        };
    }

    /** The on-disk dtype for a checkpoint's {@code torch_dtype}: bf16 and f16 are kept, anything else is F32. */
    public static String dtypeFor(String torchDtype) {
        return switch (torchDtype) {
            case "bfloat16" -> "BF16";
            case "float16" -> "F16";
            default -> "F32";
        };
    }

    /** Writes fp32 arrays as {@code dtype} (F32, BF16 with round-to-nearest-even, or F16). */
    public static void write(Path path, Map<String, NDArray> tensors, String dtype) throws IOException {
        int width = bytesPerElement(dtype, path, "*");
        ObjectNode header = JSON.createObjectNode();
        header.putObject("__metadata__").put("format", "pt");
        long offset = 0;
        for (Map.Entry<String, NDArray> t : tensors.entrySet()) {
            long bytes = t.getValue().size() * width;
            ObjectNode e = header.putObject(t.getKey());
            e.put("dtype", dtype);
            var shape = e.putArray("shape");
            for (long d : t.getValue().getShape().getShape()) {
                shape.add(d);
            }
            e.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] headerBytes = JSON.writeValueAsBytes(header);
        // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
        int padded = (headerBytes.length + 7) / 8 * 8;
        Path tmp = path.resolveSibling(path.getFileName() + ".tmp");
        try (OutputStream out = new java.io.BufferedOutputStream(Files.newOutputStream(tmp), WRITE_BUFFER_BYTES)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
            out.write(len.array());
            out.write(headerBytes);
            for (int i = headerBytes.length; i < padded; i++) {
                out.write(' ');
            }
            for (NDArray array : tensors.values()) {
                writeRows(out, array, dtype, SLICE_BYTES);
            }
        }
        Files.move(tmp, path, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    /** Writes {@code array} as {@code dtype}, a slice of rows of at most {@code sliceBytes} fp32 bytes at a time. */
    static void writeRows(OutputStream out, NDArray array, String dtype, long sliceBytes) throws IOException {
        long[] shape = array.getShape().getShape();
        long rowsPerSlice = rowsPerSlice(shape, array.size(), sliceBytes);
        if (rowsPerSlice == WHOLE) {
            out.write(encode(array, dtype));
            return;
        }
        for (long row = 0; row < shape[0]; row += rowsPerSlice) {
            try (NDArray slice = array.get(new NDIndex("{}:{}", row, Math.min(shape[0], row + rowsPerSlice)))) {
                out.write(encode(slice, dtype));
            }
        }
    }

    private static byte[] encode(NDArray array, String dtype) {
        float[] values;
        if (array.getDataType() == DataType.FLOAT32) {
            values = array.toFloatArray();
        } else {
            try (NDArray wide = array.toType(DataType.FLOAT32, false)) {
                values = wide.toFloatArray();
            }
        }
        ByteBuffer buf = ByteBuffer.allocate(values.length * bytesPerElement(dtype, null, "*")).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            switch (dtype) {
                case "F32" -> buf.putFloat(v);
                case "BF16" -> buf.putShort(toBf16(v));
                case "F16" -> buf.putShort(floatToHalf(v));
                default -> throw new IllegalStateException("dtype checked by caller");
            }
        }
        return buf.array();
    }

    static short toBf16(float v) {
        int bits = Float.floatToRawIntBits(v);
        if (Float.isNaN(v)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        int roundingBias = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + roundingBias) >>> 16);
    }

    /** IEEE 754 binary16 to float (Java 17 has no Float.float16ToFloat). */
    static float halfToFloat(short half) {
        int h = half & 0xffff;
        int sign = (h & 0x8000) << 16;
        int exp = (h >>> 10) & 0x1f;
        int mant = h & 0x3ff;
        if (exp == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        }
        if (exp == 0) {
            float subnormal = mant * 0x1p-24f;
            return sign == 0 ? subnormal : -subnormal;
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }

    /** float to IEEE 754 binary16, rounding to nearest even; overflow gives infinity. */
    static short floatToHalf(float v) {
        int bits = Float.floatToRawIntBits(v);
        int sign = (bits >>> 16) & 0x8000;
        if (Float.isNaN(v)) {
            return (short) (sign | 0x7e00);
        }
        float abs = Math.abs(v);
        if (abs >= 65520f) {
            return (short) (sign | 0x7c00);
        }
        if (abs < 0x1p-14f) {
            return (short) (sign | Math.round(abs * 0x1p24f));
        }
        int e = (Float.floatToRawIntBits(abs) >>> 23) - 127;
        int mant = Float.floatToRawIntBits(abs) & 0x7fffff;
        int rounded = (mant + 0xfff + ((mant >>> 13) & 1)) >>> 13;
        return (short) (sign | (((e + 15) << 10) + rounded));
    }

    private SafeTensors() {
    }
}
