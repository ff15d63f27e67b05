package ai.eapo.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.eapo.model.ReferenceTransformer.Flaw;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every supported architecture variant, written with {@link Checkpoint#save} and read back with
 * {@link Checkpoint#load}, against the independent plain-Java {@link ReferenceTransformer} reading the same
 * directory; plus exact save/load round trips.
 */
class ModelVariantsTest {

    static final Path FIXTURE = TestPaths.shared().resolve("fixtures/tiny-qwen2-bf16");
    static final double TOLERANCE = 1e-3;
    /** A planted mistake in the reference must move some logit by much more than the tolerance. */
    static final double FLAW_MIN_EFFECT = 50 * TOLERANCE;
    static final float INIT_STD = 0.15f;
    static final int VOCAB = 300;
    static final int[] LENGTHS = {1, 5, 17};

    private static final ObjectMapper JSON = new ObjectMapper();

    /** One architecture to test; {@code maxShardBytes} small enough forces a sharded checkpoint. */
    record Variant(String name, ObjectNode json, long maxShardBytes, String expectedDtype) {
        @Override
        public String toString() {
            return name;
        }

        ModelConfig config() {
            return ModelConfig.fromJson(json.deepCopy(), name);
        }

        boolean sharded() {
            return maxShardBytes < Long.MAX_VALUE;
        }
    }

    static Stream<Variant> variants() {
        List<Variant> v = new ArrayList<>();
        v.add(new Variant("qwen2 tied bf16 gqa2",
                qwen2(64, 160, 4, 2, true, "bfloat16"), Long.MAX_VALUE, "BF16"));
        v.add(new Variant("qwen2 untied fp32 MHA sharded",
                qwen2(96, 192, 6, 6, false, "float32"), 100_000, "F32"));
        v.add(new Variant("qwen2 tied f16 gqa4",
                qwen2(64, 128, 8, 2, true, "float16"), Long.MAX_VALUE, "F16"));
        ObjectNode qwen3 = qwen2(64, 160, 4, 2, false, "float32");
        qwen3.put("model_type", "qwen3");
        qwen3.putArray("architectures").add("Qwen3ForCausalLM");
        qwen3.put("attention_bias", false);
        qwen3.put("head_dim", 24); // 4 × 24 = 96 ≠ hidden 64
        v.add(new Variant("qwen3 qk-norm head_dim 24 fp32", qwen3, Long.MAX_VALUE, "F32"));
        ObjectNode qwen3bf16 = qwen3.deepCopy();
        qwen3bf16.put("torch_dtype", "bfloat16");
        qwen3bf16.put("tie_word_embeddings", true);
        v.add(new Variant("qwen3 qk-norm tied bf16", qwen3bf16, Long.MAX_VALUE, "BF16"));
        ObjectNode llama = qwen2(64, 176, 8, 1, false, "float32");
        llama.put("model_type", "llama");
        llama.putArray("architectures").add("LlamaForCausalLM");
        llama.put("attention_bias", false);
        llama.put("mlp_bias", false);
        llama.put("rope_theta", 500000.0);
        llama.put("rms_norm_eps", 1e-5);
        v.add(new Variant("llama no-bias gqa8 theta 5e5", llama, Long.MAX_VALUE, "F32"));
        ObjectNode llamaBias = llama.deepCopy();
        llamaBias.put("attention_bias", true);
        llamaBias.put("mlp_bias", true);
        llamaBias.remove("rope_theta");
        llamaBias.putObject("rope_parameters").put("rope_type", "default").put("rope_theta", 500000.0);
        v.add(new Variant("llama q/k/v/o and mlp biases, rope_parameters", llamaBias, Long.MAX_VALUE, "F32"));
        for (int kv : new int[]{8, 4, 2, 1}) {
            v.add(new Variant("qwen2 untied fp32 heads 8 kv " + kv + " (gqa " + 8 / kv + ")",
                    qwen2(64, 128, 8, kv, false, "float32"), Long.MAX_VALUE, "F32"));
        }
        return v.stream();
    }

    static ObjectNode qwen2(int hidden, int intermediate, int heads, int kvHeads, boolean tied, String dtype) {
        ObjectNode json = ModelConfig.qwen2(VOCAB, hidden, intermediate, 2, heads, kvHeads, tied, List.of(2))
                .json().deepCopy();
        json.put("torch_dtype", dtype);
        return json;
    }

    // ------------------------------------------------------------------ the reference itself

    @Test
    void referenceReproducesTheGoldenFixture() throws Exception {
        ReferenceTransformer ref = ReferenceTransformer.load(FIXTURE);
        try (SafeTensors.File golden = SafeTensors.open(FIXTURE.resolve("golden.safetensors"));
             NDManager m = NDManager.newBaseManager()) {
            for (int j = 0; j < 3; j++) {
                long[] ids = toLongs(golden.load("input_ids_" + j, m).toFloatArray());
                NDArray expectedArray = golden.load("logits_" + j, m);
                assertArrayEquals(new long[]{ids.length, ref.vocab}, expectedArray.getShape().getShape());
                float[] expected = expectedArray.toFloatArray();
                double[][] actual = ref.logits(ids);
                double maxDiff = 0;
                for (int t = 0; t < ids.length; t++) {
                    for (int c = 0; c < ref.vocab; c++) {
                        maxDiff = Math.max(maxDiff, Math.abs(actual[t][c] - expected[t * ref.vocab + c]));
                    }
                }
                assertTrue(maxDiff < TOLERANCE, "golden sequence " + j + ": reference max |diff| = " + maxDiff);
            }
        }
    }

    // ------------------------------------------------------------------ DJL vs reference, per variant

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void djlMatchesReferenceAndSaveLoadRoundTrips(Variant variant, @TempDir Path tmp) throws IOException {
        ModelConfig config = variant.config();
        Path first = tmp.resolve("first");
        Path second = tmp.resolve("second");
        Random rng = new Random(variant.name().hashCode());
        long[][] sequences = new long[LENGTHS.length][];
        for (int i = 0; i < LENGTHS.length; i++) {
            sequences[i] = randomIds(rng, LENGTHS[i], config.vocabSize());
        }

        float[][][] originalLogits = new float[sequences.length][][];
        try (PolicyModel original = PolicyModel.random(config, Device.cpu(), 1234, INIT_STD)) {
            perturbNormsAndBiases(original, rng);
            checkPerturbed(original);
            for (int i = 0; i < sequences.length; i++) {
                originalLogits[i] = djlLogits(original, sequences[i]);
            }
            Checkpoint.save(original, first, null, variant.maxShardBytes());
        }
        checkLayout(first, variant, config);

        ReferenceTransformer ref = ReferenceTransformer.load(first);
        assertEquals(PolicyModel.expectedShapes(config).keySet(), new TreeSet<>(ref.tensorNames()),
                "saved tensors are exactly the expected ones");
        float[][][] firstLogits = new float[sequences.length][][];
        try (PolicyModel loaded = Checkpoint.load(first, Device.cpu())) {
            for (int i = 0; i < sequences.length; i++) {
                firstLogits[i] = djlLogits(loaded, sequences[i]);
                double[][] expected = ref.logits(sequences[i]);
                checkSpread(expected, variant + " length " + sequences[i].length);
                double diff = maxDiff(firstLogits[i], expected);
                assertTrue(diff < TOLERANCE, variant + ", length " + sequences[i].length
                        + ": DJL vs reference max |diff| = " + diff);
            }
            checkBatchedRightPadded(loaded, sequences, ref, variant);
            checkPlantedFlawsAreDetected(first, ref, firstLogits[sequences.length - 1],
                    sequences[sequences.length - 1], variant);
            Checkpoint.save(loaded, second, null, variant.maxShardBytes());
        }

        if (variant.expectedDtype().equals("F32")) {
            for (int i = 0; i < sequences.length; i++) {
                assertEquals(0.0, maxDiff(originalLogits[i], firstLogits[i]),
                        variant + ": fp32 save→load must reproduce the logits exactly (length " + sequences[i].length + ")");
            }
        }
        try (PolicyModel reloaded = Checkpoint.load(second, Device.cpu())) {
            for (int i = 0; i < sequences.length; i++) {
                assertEquals(0.0, maxDiff(firstLogits[i], djlLogits(reloaded, sequences[i])),
                        variant + ": second save→load must be exact (length " + sequences[i].length + ")");
            }
        }
        // The second save of already-rounded weights writes the very same bytes.
        List<String> files = weightFiles(first);
        assertEquals(files, weightFiles(second));
        for (String f : files) {
            assertArrayEquals(Files.readAllBytes(first.resolve(f)), Files.readAllBytes(second.resolve(f)),
                    variant + ": " + f + " differs after a second save");
        }
    }

    /** The [B, L] path with right padding: real positions equal the reference, whatever follows them. */
    private static void checkBatchedRightPadded(PolicyModel model, long[][] sequences, ReferenceTransformer ref,
                                                Variant variant) {
        int maxLen = 0;
        for (long[] s : sequences) {
            maxLen = Math.max(maxLen, s.length);
        }
        long[] flat = new long[sequences.length * maxLen];
        for (int b = 0; b < sequences.length; b++) {
            for (int t = 0; t < maxLen; t++) {
                flat[b * maxLen + t] = t < sequences[b].length ? sequences[b][t] : 7; // pad with a real token
            }
        }
        try (NDManager m = NDManager.newBaseManager()) {
            float[] out = model.logits(m.create(flat, new Shape(sequences.length, maxLen))).toFloatArray();
            int vocab = ref.vocab;
            for (int b = 0; b < sequences.length; b++) {
                double[][] expected = ref.logits(sequences[b]);
                double diff = 0;
                for (int t = 0; t < sequences[b].length; t++) {
                    for (int c = 0; c < vocab; c++) {
                        diff = Math.max(diff, Math.abs(out[(b * maxLen + t) * vocab + c] - expected[t][c]));
                    }
                }
                assertTrue(diff < TOLERANCE, variant + ", batch row " + b + " (length " + sequences[b].length
                        + " padded to " + maxLen + "): max |diff| = " + diff);
            }
        }
    }

    /**
     * The comparison has teeth: each typical mistake that applies to this variant, planted in the reference,
     * moves the logits far outside the tolerance.
     */
    private static void checkPlantedFlawsAreDetected(Path dir, ReferenceTransformer ref, float[][] djl, long[] ids,
                                                     Variant variant) {
        Set<Flaw> applicable = EnumSet.of(Flaw.ROPE_INTERLEAVED, Flaw.NO_ROPE, Flaw.NO_NORM_WEIGHT, Flaw.NO_CAUSAL_MASK);
        if (ref.kvHeads > 1 && ref.heads / ref.kvHeads > 1) {
            applicable.add(Flaw.GQA_MODULO);
        }
        if (ref.qkNorm) {
            applicable.add(Flaw.NO_QK_NORM);
        }
        if (ref.qkvBias) {
            applicable.add(Flaw.NO_BIAS);
        }
        if (!ref.tied) {
            applicable.add(Flaw.ALWAYS_TIED);
        }
        for (Flaw flaw : applicable) {
            double diff = maxDiff(djl, ReferenceTransformer.load(dir, EnumSet.of(flaw)).logits(ids));
            assertTrue(diff > FLAW_MIN_EFFECT, variant + ": planted flaw " + flaw
                    + " changes the logits by only " + diff + ", so the test could not see it");
        }
    }

    private static void checkLayout(Path dir, Variant variant, ModelConfig config) throws IOException {
        List<String> files = weightFiles(dir);
        if (variant.sharded()) {
            assertFalse(Files.exists(dir.resolve(Checkpoint.SINGLE_FILE)), "sharded save must not write " + Checkpoint.SINGLE_FILE);
            assertTrue(Files.isRegularFile(dir.resolve(Checkpoint.INDEX_FILE)), "sharded save writes the index");
            assertTrue(files.size() >= 3, variant + ": expected several shards, got " + files);
            var index = JSON.readTree(dir.resolve(Checkpoint.INDEX_FILE).toFile());
            Set<String> mapped = new TreeSet<>();
            index.get("weight_map").fieldNames().forEachRemaining(mapped::add);
            assertEquals(new TreeSet<>(PolicyModel.expectedShapes(config).keySet()), mapped);
            Set<String> referenced = new TreeSet<>();
            index.get("weight_map").elements().forEachRemaining(n -> referenced.add(n.asText()));
            assertEquals(new TreeSet<>(files), referenced, "index names exactly the shard files on disk");
            long dataBytes = 0;
            for (String f : files) {
                try (SafeTensors.File st = SafeTensors.open(dir.resolve(f))) {
                    for (SafeTensors.Entry e : st.entries().values()) {
                        assertEquals(f, index.get("weight_map").get(e.name()).asText(), e.name() + " is in the shard the index says");
                        dataBytes += e.end() - e.begin();
                    }
                }
            }
            assertEquals(dataBytes, index.get("metadata").get("total_size").asLong(), "index total_size");
        } else {
            assertEquals(List.of(Checkpoint.SINGLE_FILE), files);
            assertFalse(Files.exists(dir.resolve(Checkpoint.INDEX_FILE)));
        }
        for (String f : files) {
            try (SafeTensors.File st = SafeTensors.open(dir.resolve(f))) {
                for (SafeTensors.Entry e : st.entries().values()) {
                    assertEquals(variant.expectedDtype(), e.dtype(), f + ": " + e.name());
                }
            }
        }
        try (var in = Files.list(dir)) {
            List<String> leftovers = in.map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith(".tmp") || n.contains("partial")).toList();
            assertEquals(List.of(), leftovers);
        }
    }

    // ------------------------------------------------------------------ helpers

    /** Norm weights away from 1 and biases away from 0, in place, so those paths are really exercised. */
    static void perturbNormsAndBiases(PolicyModel model, Random rng) {
        for (Map.Entry<String, NDArray> e : model.parameters().entrySet()) {
            String name = e.getKey();
            boolean norm = name.endsWith("norm.weight");
            boolean bias = name.endsWith(".bias");
            if (!norm && !bias) {
                continue;
            }
            NDArray p = e.getValue();
            float[] delta = new float[Math.toIntExact(p.size())];
            for (int i = 0; i < delta.length; i++) {
                delta[i] = (float) (norm ? 0.8 * (rng.nextDouble() - 0.5) : 0.5 * rng.nextGaussian());
            }
            p.addi(p.getManager().create(delta, p.getShape()));
        }
    }

    private static void checkPerturbed(PolicyModel model) {
        boolean sawBias = false;
        for (Map.Entry<String, NDArray> e : model.parameters().entrySet()) {
            float[] w = e.getValue().toFloatArray();
            if (e.getKey().endsWith("norm.weight")) {
                assertTrue(maxAbsDeviation(w, 1f) > 0.1, e.getKey() + " was not perturbed");
            } else if (e.getKey().endsWith(".bias")) {
                sawBias = true;
                assertTrue(maxAbsDeviation(w, 0f) > 0.1, e.getKey() + " was not perturbed");
            }
        }
        assertEquals(model.config().attentionBias(), sawBias, "bias tensors present iff attention_bias");
    }

    private static double maxAbsDeviation(float[] w, float from) {
        double d = 0;
        for (float v : w) {
            d = Math.max(d, Math.abs(v - from));
        }
        return d;
    }

    /** Logits that are all nearly equal would make a 1e-3 comparison meaningless. */
    private static void checkSpread(double[][] logits, String what) {
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        for (double[] row : logits) {
            for (double v : row) {
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
        }
        assertTrue(max - min > 1.0, what + ": logits span only " + (max - min));
    }

    static float[][] djlLogits(PolicyModel model, long[] ids) {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray out = model.logits(m.create(ids, new Shape(1, ids.length)));
            long vocab = out.getShape().get(2);
            assertArrayEquals(new long[]{1, ids.length, vocab}, out.getShape().getShape());
            float[] flat = out.toFloatArray();
            float[][] rows = new float[ids.length][(int) vocab];
            for (int t = 0; t < ids.length; t++) {
                System.arraycopy(flat, (int) (t * vocab), rows[t], 0, (int) vocab);
            }
            return rows;
        }
    }

    static double maxDiff(float[][] a, double[][] b) {
        assertEquals(a.length, b.length);
        double d = 0;
        for (int t = 0; t < a.length; t++) {
            assertEquals(a[t].length, b[t].length);
            for (int c = 0; c < a[t].length; c++) {
                d = Math.max(d, Math.abs(a[t][c] - b[t][c]));
            }
        }
        return d;
    }

    static double maxDiff(float[][] a, float[][] b) {
        double[][] wide = new double[b.length][];
        for (int t = 0; t < b.length; t++) {
            wide[t] = new double[b[t].length];
            for (int c = 0; c < b[t].length; c++) {
                wide[t][c] = b[t][c];
            }
        }
        return maxDiff(a, wide);
    }

    private static long[] randomIds(Random rng, int length, int vocab) {
        long[] ids = new long[length];
        for (int i = 0; i < length; i++) {
            ids[i] = rng.nextInt(vocab);
        }
        if (length > 2) {
            ids[0] = vocab - 1; // both ends of the embedding table
            ids[1] = 0;
        }
        return ids;
    }

    private static long[] toLongs(float[] f) {
        long[] out = new long[f.length];
        for (int i = 0; i < f.length; i++) {
            out[i] = (long) f[i];
        }
        return out;
    }

    private static List<String> weightFiles(Path dir) throws IOException {
        try (var in = Files.list(dir)) {
            return in.map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith(".safetensors"))
                    .sorted()
                    .collect(Collectors.toList());
        }
    }
}
