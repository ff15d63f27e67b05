package ai.eapo.model;

import ai.djl.Device;
import ai.eapo.UserInputException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every kind of broken checkpoint is refused with a one-line {@link UserInputException} that names the file or
 * tensor and the offending values. Each case starts from a copy of the shared tiny Qwen2 fixture and breaks
 * exactly one thing.
 */
class CheckpointErrorsTest {

    static final Path FIXTURE = TestPaths.shared().resolve("fixtures/tiny-qwen2-bf16");
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;
    Path model;
    Path weights;

    @BeforeEach
    void copyFixture() throws IOException {
        model = tmp.resolve("model");
        Files.createDirectories(model);
        Files.copy(FIXTURE.resolve("config.json"), model.resolve("config.json"));
        Files.copy(FIXTURE.resolve("model.safetensors"), model.resolve("model.safetensors"));
        weights = model.resolve("model.safetensors");
    }

    @Test
    void theUnbrokenCopyLoads() {
        try (PolicyModel m = Checkpoint.load(model, Device.cpu())) {
            assertEquals(256, m.config().vocabSize());
        }
    }

    // ------------------------------------------------------------------ directory and config

    @Test
    void missingDirectory() {
        Path nowhere = tmp.resolve("no-such-model");
        String msg = failure(nowhere);
        assertContains(msg, nowhere.toString(), "does not exist");
    }

    @Test
    void missingConfig() throws IOException {
        Files.delete(model.resolve("config.json"));
        assertContains(failure(model), model.toString(), "config.json");
    }

    @Test
    void configNotJson() throws IOException {
        Files.writeString(model.resolve("config.json"), "{\"model_type\": \"qwen2\",");
        assertContains(failure(model), model.resolve("config.json").toString(), "JSON");
    }

    @Test
    void unknownModelType() throws IOException {
        editConfig(c -> c.put("model_type", "gpt2"));
        assertContains(failure(model), model.resolve("config.json").toString(), "model_type", "'gpt2'", "qwen2");
    }

    @Test
    void headsNotAMultipleOfKvHeads() throws IOException {
        editConfig(c -> c.put("num_key_value_heads", 3));
        assertContains(failure(model), "config.json", "num_attention_heads 4", "num_key_value_heads 3");
    }

    @Test
    void zeroKvHeads() throws IOException {
        editConfig(c -> c.put("num_key_value_heads", 0));
        assertContains(failure(model), "config.json", "num_key_value_heads", "0");
    }

    @Test
    void zeroHeadDim() throws IOException {
        editConfig(c -> c.put("head_dim", 0));
        assertContains(failure(model), "config.json", "head_dim", "0");
    }

    @Test
    void missingHiddenSize() throws IOException {
        editConfig(c -> c.remove("hidden_size"));
        assertContains(failure(model), "config.json", "hidden_size");
    }

    // ------------------------------------------------------------------ tensors

    @Test
    void missingTensor() throws IOException {
        Map<String, Raw> t = readRaw(weights);
        t.remove("model.layers.1.mlp.up_proj.weight");
        writeRaw(weights, t);
        assertContains(failure(model), model.toString(), "'model.layers.1.mlp.up_proj.weight'", "missing",
                "(176, 64)");
    }

    @Test
    void wrongShapeTransposed() throws IOException {
        Map<String, Raw> t = readRaw(weights);
        Raw k = t.get("model.layers.0.self_attn.k_proj.weight");
        assertEquals("[32, 64]", Arrays.toString(k.shape));
        t.put("model.layers.0.self_attn.k_proj.weight", new Raw(k.dtype, new long[]{64, 32}, k.data));
        writeRaw(weights, t);
        assertContains(failure(model), model.toString(), "'model.layers.0.self_attn.k_proj.weight'",
                "(64, 32)", "expected (32, 64)");
    }

    @Test
    void unsupportedDtype() throws IOException {
        Map<String, Raw> t = readRaw(weights);
        t.put("model.norm.weight", new Raw("I8", new long[]{64}, new byte[64]));
        writeRaw(weights, t);
        assertContains(failure(model), weights.toString(), "'model.norm.weight'", "I8", "BF16");
    }

    @Test
    void byteCountDisagreesWithShapeAndDtype() throws IOException {
        Map<String, Raw> t = readRaw(weights);
        Raw norm = t.get("model.norm.weight");
        t.put("model.norm.weight", new Raw(norm.dtype, norm.shape, Arrays.copyOf(norm.data, 64)));
        writeRaw(weights, t);
        assertContains(failure(model), weights.toString(), "'model.norm.weight'", "64 bytes", "128");
    }

    // ------------------------------------------------------------------ the safetensors container

    @Test
    void fileOfFourBytes() throws IOException {
        Files.write(weights, new byte[]{1, 2, 3, 4});
        assertContains(failure(model), weights.toString(), "4 bytes");
    }

    @Test
    void headerLengthLargerThanFile() throws IOException {
        long size = Files.size(weights);
        setHeaderLength(weights, size + 100);
        assertContains(failure(model), weights.toString(), "truncated", String.valueOf(size + 100),
                String.valueOf(size - 8));
    }

    @Test
    void absurdHeaderLength() throws IOException {
        setHeaderLength(weights, 1L << 40);
        assertContains(failure(model), weights.toString(), "1099511627776");
    }

    @Test
    void negativeHeaderLength() throws IOException {
        setHeaderLength(weights, -5);
        assertContains(failure(model), weights.toString(), "-5");
    }

    @Test
    void headerNotJson() throws IOException {
        byte[] data = readRawBytes(weights).data;
        writeWithHeader(weights, "{\"model.norm.weight\": {\"dtype\": \"BF16\", ".getBytes(StandardCharsets.UTF_8), data);
        assertContains(failure(model), weights.toString(), "JSON");
    }

    @Test
    void headerJsonButNotAnObject() throws IOException {
        writeWithHeader(weights, "[1, 2, 3]".getBytes(StandardCharsets.UTF_8), new byte[0]);
        assertContains(failure(model), weights.toString(), "JSON object");
    }

    @Test
    void malformedEntry() throws IOException {
        RawFile f = readRawBytes(weights);
        ((ObjectNode) f.header.get("model.norm.weight")).remove("data_offsets");
        writeWithHeader(weights, JSON.writeValueAsBytes(f.header), f.data);
        assertContains(failure(model), weights.toString(), "'model.norm.weight'");
    }

    @Test
    void dataOffsetsBeyondEndOfFile() throws IOException {
        RawFile f = readRawBytes(weights);
        // Cut the data short: the tensor stored last now ends beyond the file.
        String last = null;
        long lastEnd = -1;
        for (Iterator<Map.Entry<String, JsonNode>> it = f.header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getKey().equals("__metadata__") && e.getValue().get("data_offsets").get(1).asLong() > lastEnd) {
                last = e.getKey();
                lastEnd = e.getValue().get("data_offsets").get(1).asLong();
            }
        }
        assertEquals(f.data.length, lastEnd, "fixture's data ends with its last tensor");
        writeWithHeader(weights, JSON.writeValueAsBytes(f.header), Arrays.copyOf(f.data, f.data.length - 100));
        assertContains(failure(model), weights.toString(), "'" + last + "'", String.valueOf(lastEnd),
                String.valueOf(f.data.length - 100));
    }

    @Test
    void onlyPytorchBin() throws IOException {
        Files.move(weights, model.resolve("pytorch_model.bin"));
        assertContains(failure(model), model.toString(), "pytorch_model.bin", "safetensors");
    }

    @Test
    void noWeightsAtAll() throws IOException {
        Files.delete(weights);
        assertContains(failure(model), model.toString(), "model.safetensors");
    }

    // ------------------------------------------------------------------ sharded layout

    @Test
    void indexNamesAMissingShard() throws IOException {
        writeIndexMappingEverythingTo("model-00001-of-00002.safetensors");
        Files.delete(weights);
        assertContains(failure(model), "model-00001-of-00002.safetensors");
    }

    @Test
    void indexMapsATensorToAShardThatLacksIt() throws IOException {
        Map<String, Raw> t = readRaw(weights);
        t.remove("model.layers.1.mlp.up_proj.weight");
        Path shard = model.resolve("model-00001-of-00001.safetensors");
        writeRaw(shard, t);
        writeIndexMappingEverythingTo(shard.getFileName().toString()); // still names the removed tensor
        Files.delete(weights);
        assertContains(failure(model), "model-00001-of-00001.safetensors", "'model.layers.1.mlp.up_proj.weight'");
    }

    @Test
    void indexWithoutWeightMap() throws IOException {
        Files.writeString(model.resolve(Checkpoint.INDEX_FILE), "{\"metadata\": {}}");
        assertContains(failure(model), Checkpoint.INDEX_FILE, "weight_map");
    }

    // ------------------------------------------------------------------ helpers

    /** Loads {@code dir}, expecting a one-line UserInputException; returns its message. */
    private static String failure(Path dir) {
        UserInputException e = assertThrows(UserInputException.class, () -> {
            try (PolicyModel m = Checkpoint.load(dir, Device.cpu())) {
                m.config();
            }
        });
        String msg = e.getMessage();
        assertFalse(msg == null || msg.isBlank(), "empty message");
        assertFalse(msg.contains("\n"), "message must be one line: " + msg);
        return msg;
    }

    private static void assertContains(String message, String... parts) {
        for (String p : parts) {
            assertTrue(message.contains(p), "message should mention '" + p + "': " + message);
        }
    }

    private interface ConfigEdit {
        void apply(ObjectNode config);
    }

    private void editConfig(ConfigEdit edit) throws IOException {
        ObjectNode c = (ObjectNode) JSON.readTree(model.resolve("config.json").toFile());
        edit.apply(c);
        JSON.writeValue(model.resolve("config.json").toFile(), c);
    }

    private void writeIndexMappingEverythingTo(String shard) throws IOException {
        ObjectNode index = JSON.createObjectNode();
        index.putObject("metadata").put("total_size", 0);
        ObjectNode map = index.putObject("weight_map");
        for (String name : readRaw(weights).keySet()) {
            map.put(name, shard);
        }
        JSON.writeValue(model.resolve(Checkpoint.INDEX_FILE).toFile(), index);
    }

    /** One tensor's raw bytes as stored. */
    private record Raw(String dtype, long[] shape, byte[] data) {
    }

    /** A safetensors file split into its parsed header and its data section. */
    private record RawFile(ObjectNode header, byte[] data) {
    }

    private static RawFile readRawBytes(Path file) throws IOException {
        byte[] all = Files.readAllBytes(file);
        long headerLen = ByteBuffer.wrap(all, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        ObjectNode header = (ObjectNode) JSON.readTree(new String(all, 8, (int) headerLen, StandardCharsets.UTF_8));
        return new RawFile(header, Arrays.copyOfRange(all, 8 + (int) headerLen, all.length));
    }

    private static Map<String, Raw> readRaw(Path file) throws IOException {
        RawFile f = readRawBytes(file);
        Map<String, Raw> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = f.header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("__metadata__")) {
                continue;
            }
            JsonNode t = e.getValue();
            long[] shape = new long[t.get("shape").size()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = t.get("shape").get(i).asLong();
            }
            int begin = t.get("data_offsets").get(0).asInt();
            int end = t.get("data_offsets").get(1).asInt();
            out.put(e.getKey(), new Raw(t.get("dtype").asText(), shape, Arrays.copyOfRange(f.data, begin, end)));
        }
        return out;
    }

    /** Writes tensors back contiguously, in map order, with a freshly computed header. */
    private static void writeRaw(Path file, Map<String, Raw> tensors) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        for (Map.Entry<String, Raw> e : tensors.entrySet()) {
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", e.getValue().dtype);
            ArrayNode shape = t.putArray("shape");
            for (long d : e.getValue().shape) {
                shape.add(d);
            }
            t.putArray("data_offsets").add(data.size()).add(data.size() + e.getValue().data.length);
            data.write(e.getValue().data);
        }
        writeWithHeader(file, JSON.writeValueAsBytes(header), data.toByteArray());
    }

    private static void writeWithHeader(Path file, byte[] header, byte[] data) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(header.length).put(header).put(data);
        Files.write(file, buf.array());
    }

    private static void setHeaderLength(Path file, long length) throws IOException {
        byte[] all = Files.readAllBytes(file);
        ByteBuffer.wrap(all, 0, 8).order(ByteOrder.LITTLE_ENDIAN).putLong(length);
        Files.write(file, all);
    }
}
