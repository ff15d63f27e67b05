package ai.eapo.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import ai.eapo.UserInputException;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * fp16 weights nothing trains (eapo.model.dtype = float16), on the CPU (slow there, and small enough): logits within
 * 1e-2 of fp32's on a tiny model; on the trained tiny policy, whose logits reach 18, computing in fp16 adds little
 * to what rounding its weights to fp16 costs by itself; the KV-cache decoder, converted replicas and LoRA adapters
 * over an fp16 base compute alike.
 */
class HalfPrecisionTest {

    private static final Path TINY = Path.of("models/tiny-base");
    private static final double TOLERANCE = 1e-2;
    /** Token ids of the tiny tokenizer (100 characters): any sequence of them does. */
    private static final long[] IDS = {35, 79, 77, 80, 85, 84, 69, 3, 19, 23, 5, 21, 9, 24, 8, 3, 19, 23, 5, 21};

    /** The embedded tiny policy's shape (eapo.model.init), freshly initialised as init-model does. */
    private static PolicyModel randomTiny() {
        return PolicyModel.random(ModelConfig.qwen2(128, 256, 704, 4, 8, 2, true, List.of(0)), Device.cpu(), 11, 0.02f);
    }

    private static float[][] logitsByPosition(PolicyModel model, long[] ids) {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray logits = model.logits(m.create(ids, new Shape(1, ids.length)));
            assertEquals(DataType.FLOAT32, logits.getDataType(), "logits are fp32 whatever the weights' dtype");
            float[][] out = new float[ids.length][];
            for (int i = 0; i < ids.length; i++) {
                out[i] = logits.get(0, i).toFloatArray();
            }
            return out;
        }
    }

    private static double maxDifference(float[][] expected, float[][] actual) {
        double max = 0;
        for (int i = 0; i < expected.length; i++) {
            for (int j = 0; j < expected[i].length; j++) {
                max = Math.max(max, Math.abs(expected[i][j] - actual[i][j]));
            }
        }
        return max;
    }

    private static void assertClose(float[][] expected, float[][] actual, String what) {
        double max = maxDifference(expected, actual);
        assertTrue(max < TOLERANCE, what + ": max |fp16 - fp32| = " + max);
        // Not trivially equal: fp16 rounding shows (else the model did not compute in fp16).
        assertTrue(max > 0, what + ": fp16 computed exactly what fp32 does");
    }

    private static int argmax(float[] row) {
        int best = 0;
        for (int i = 1; i < row.length; i++) {
            best = row[i] > row[best] ? i : best;
        }
        return best;
    }

    @Test
    void fp16LogitsOfATinyModelAreWithinOneHundredthOfFp32() {
        try (PolicyModel full = randomTiny(); PolicyModel half = full.replica(InferencePrecision.FLOAT16)) {
            assertEquals(DataType.FLOAT16, half.computeType());
            half.parameters().values().forEach(w -> assertEquals(DataType.FLOAT16, w.getDataType()));
            assertClose(logitsByPosition(full, IDS), logitsByPosition(half, IDS), "whole sequence");
        }
    }

    @Test
    void onTheTrainedTinyPolicyFp16ComputationAddsLittleToRoundingTheWeights() {
        try (PolicyModel full = Checkpoint.load(TINY, Device.cpu());
             PolicyModel half = Checkpoint.load(TINY, Device.cpu(), InferencePrecision.FLOAT16);
             PolicyModel roundedWeights = half.replica(InferencePrecision.FLOAT32)) {
            float[][] expected = logitsByPosition(full, IDS);
            float[][] actual = logitsByPosition(half, IDS);
            // Rounding the weights to fp16 and computing in fp32 moves the logits by 0.022 here (up to 17.7): the
            // floor of any fp16 storage. Computing in fp16 measured 0.046.
            double floor = maxDifference(expected, logitsByPosition(roundedWeights, IDS));
            double error = maxDifference(expected, actual);
            assertTrue(floor > 0 && error < 3 * floor, "fp16 logits differ by " + error + ", the rounded weights' by "
                    + floor);
            for (int i = 0; i < IDS.length; i++) {
                assertEquals(argmax(expected[i]), argmax(actual[i]), "greedy token after position " + i);
            }
        }
    }

    @Test
    void fp16DecodingThroughItsHalfPrecisionKvCacheMatchesTheWholeSequence() {
        try (PolicyModel half = Checkpoint.load(TINY, Device.cpu(), InferencePrecision.FLOAT16);
             NDManager m = NDManager.newBaseManager(); DecodeBatch batch = new DecodeBatch(half)) {
            float[][] expected = logitsByPosition(half, IDS);
            int prompt = 4;
            float[][] decoded = new float[IDS.length - prompt + 1][];
            decoded[0] = batch.join(List.of(1L), List.of(Arrays.copyOf(IDS, prompt)), m).get(0).toFloatArray();
            for (int t = prompt; t < IDS.length; t++) {
                decoded[t - prompt + 1] = batch.step(new long[]{IDS[t]}, m).get(0).toFloatArray();
            }
            double max = maxDifference(Arrays.copyOfRange(expected, prompt - 1, IDS.length), decoded);
            assertTrue(max < TOLERANCE, "decoded with the fp16 KV cache: max difference " + max);
        }
    }

    @Test
    void anFp16ReplicaLoadsFp32VersionsConverted() {
        try (PolicyModel learner = Checkpoint.load(TINY, Device.cpu());
             PolicyModel loaded = Checkpoint.load(TINY, Device.cpu(), InferencePrecision.FLOAT16);
             PolicyModel random = randomTiny(); PolicyModel replica = random.replica(InferencePrecision.FLOAT16)) {
            replica.loadWeights(learner.parameters());
            replica.parameters().values().forEach(w -> assertEquals(DataType.FLOAT16, w.getDataType()));
            // The same fp32 values rounded to fp16 on the way in: the same model as one loaded in fp16.
            assertEquals(0.0, maxDifference(logitsByPosition(loaded, IDS), logitsByPosition(replica, IDS)));
        }
    }

    @Test
    void loraOverAnFp16BaseComputesAsOverFp32AndTrainsItsFp32Adapters() {
        LoraConfig lora = new LoraConfig(4, 8, 0, List.of("q_proj", "v_proj", "o_proj", "down_proj"));
        try (PolicyModel fullBase = randomTiny();
             PolicyModel halfBase = fullBase.replica(InferencePrecision.FLOAT16);
             PolicyModel overFull = fullBase.withLora(lora, 5);
             PolicyModel overHalf = halfBase.withLora(lora, 5)) {
            overFull.updateWeights(() -> overFull.parameters().forEach((name, a) -> {
                if (name.contains(".lora_B.")) {
                    try (NDManager m = NDManager.newBaseManager(); NDArray view = a.stopGradient()) {
                        view.set(new NDIndex("..."), m.randomNormal(0f, 0.05f, a.getShape(), DataType.FLOAT32));
                    }
                }
            }));
            overHalf.loadWeights(overFull.parameters());
            overHalf.parameters().values().forEach(w -> assertEquals(DataType.FLOAT32, w.getDataType()));
            float[][] expected = logitsByPosition(overFull, IDS);
            assertTrue(maxDifference(logitsByPosition(fullBase, IDS), expected) > 10 * TOLERANCE,
                    "the adapters change the model");
            assertClose(expected, logitsByPosition(overHalf, IDS), "LoRA over the base");

            Map<String, float[]> expectedGradients = adapterGradients(overFull);
            Map<String, float[]> gradients = adapterGradients(overHalf);
            for (var e : gradients.entrySet()) {
                float[] want = expectedGradients.get(e.getKey());
                double difference = 0;
                double norm = 0;
                for (int i = 0; i < want.length; i++) {
                    difference += Math.pow(e.getValue()[i] - want[i], 2);
                    norm += want[i] * (double) want[i];
                }
                // Through fp16 activations and casts, the fp32 adapters get fp32's gradients to within a few %.
                assertTrue(norm > 0 && Math.sqrt(difference / norm) < 0.05, e.getKey() + ": gradient off by "
                        + Math.sqrt(difference / norm) + " of its norm");
            }
            halfBase.parameters().values().forEach(w -> assertTrue(!w.hasGradient(), "the frozen base has a gradient"));
        }
    }

    /** Gradients of the adapters (fp32, checked) of -Σ log p(next token) over {@link #IDS}. */
    private static Map<String, float[]> adapterGradients(PolicyModel adapted) {
        adapted.parameters().values().forEach(w -> w.setRequiresGradient(true));
        try (NDManager m = NDManager.newBaseManager();
             GradientCollector collector = Engine.getInstance().newGradientCollector()) {
            NDArray ids = m.create(Arrays.copyOf(IDS, IDS.length - 1), new Shape(1, IDS.length - 1));
            NDArray targets = m.create(Arrays.copyOfRange(IDS, 1, IDS.length), new Shape(1, IDS.length - 1));
            collector.backward(adapted.tokenLogProbs(ids, targets, 1f).sum().neg());
        }
        Map<String, float[]> out = new LinkedHashMap<>();
        adapted.parameters().forEach((name, w) -> {
            assertEquals(DataType.FLOAT32, w.getGradient().getDataType(), name);
            out.put(name, w.getGradient().toFloatArray());
        });
        return out;
    }

    @Test
    void theSettingIsFp32OnCpuAndFp16OnGpuByDefaultAndRefusesBfloat16() {
        assertEquals(InferencePrecision.FLOAT32, InferencePrecision.parse("auto", Device.cpu()));
        assertEquals(InferencePrecision.FLOAT16, InferencePrecision.parse("auto", Device.gpu(0)));
        assertEquals(InferencePrecision.FLOAT16, InferencePrecision.parse("float16", Device.cpu()));
        UserInputException bf16 = assertThrows(UserInputException.class,
                () -> InferencePrecision.parse("bfloat16", Device.gpu(0)));
        assertTrue(bf16.getMessage().contains("eapo.model.dtype") && bf16.getMessage().contains("aborts the JVM"),
                bf16.getMessage());
        UserInputException other = assertThrows(UserInputException.class,
                () -> InferencePrecision.parse("float64", Device.cpu()));
        assertTrue(other.getMessage().contains("'float64'"), other.getMessage());
    }
}
