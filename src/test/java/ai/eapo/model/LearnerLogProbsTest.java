package ai.eapo.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The learner's log-probs computed in less memory equal the plain computation, values and gradients: a few positions
 * at a time (the vocabulary-wide part in chunks), whatever the chunk; and with every layer recomputed in the backward
 * pass (gradient checkpointing), for a tied Qwen2, an untied Qwen3 with q/k norms and LoRA adapters.
 */
class LearnerLogProbsTest {

    private static final int ROWS = 3;
    private static final int LENGTH = 11;
    private static final int VOCAB = 50;
    private static final double TOLERANCE = 1e-5;

    /** Qwen3: q/k RMSNorm, no biases, untied, attention width 48 over hidden 32. */
    private static ModelConfig qwen3() {
        ObjectNode json = new ObjectMapper().createObjectNode();
        json.put("model_type", "qwen3").put("vocab_size", VOCAB).put("hidden_size", 32).put("intermediate_size", 64)
                .put("num_hidden_layers", 3).put("num_attention_heads", 4).put("num_key_value_heads", 2)
                .put("head_dim", 12).put("tie_word_embeddings", false).put("rms_norm_eps", 1e-6)
                .put("rope_theta", 10000.0);
        return ModelConfig.fromJson(json, "test qwen3");
    }

    @Test
    void chunksOfAnySizeGiveTheSameLogProbsAndGradients() {
        ModelConfig config = ModelConfig.qwen2(VOCAB, 32, 48, 2, 4, 2, false, List.of(0));
        try (PolicyModel model = PolicyModel.random(config, Device.cpu(), 7, 0.2f)) {
            model.parameters().values().forEach(p -> p.setRequiresGradient(true));
            Result whole = run(model, false, Integer.MAX_VALUE);
            for (int chunk : new int[]{1, 3, 4, LENGTH}) {
                assertSame(whole, run(model, false, chunk), "chunk " + chunk);
            }
            assertTrue(maxAbs(whole.gradients.get("model.layers.0.mlp.up_proj.weight")) > 1e-4,
                    "the loss reaches the first layer");
        }
    }

    @Test
    void recomputedLayersGiveTheSameLogProbsAndGradientsForEveryWeight() {
        for (ModelConfig config : List.of(ModelConfig.qwen2(VOCAB, 32, 48, 3, 4, 2, true, List.of(0)), qwen3())) {
            try (PolicyModel model = PolicyModel.random(config, Device.cpu(), 7, 0.2f)) {
                model.parameters().values().forEach(p -> p.setRequiresGradient(true));
                Result kept = run(model, false, 4);
                Result recomputed = run(model, true, 4);
                assertSame(kept, recomputed, config.modelType());
                assertTrue(maxAbs(kept.gradients.get("model.embed_tokens.weight")) > 1e-4, "the embedding learns");
                assertTrue(maxAbs(kept.gradients.get("model.layers.0.mlp.up_proj.weight")) > 1e-4,
                        "the loss reaches the first layer");
            }
        }
    }

    @Test
    void recomputedLayersGiveTheAdaptersTheSameGradients() {
        LoraConfig lora = new LoraConfig(4, 8, 0, List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
                "up_proj", "down_proj"));
        try (PolicyModel base = PolicyModel.random(qwen3(), Device.cpu(), 7, 0.2f);
             PolicyModel adapted = base.withLora(lora, 3)) {
            adapted.updateWeights(() -> adapted.parameters().forEach((name, a) -> {
                if (name.contains(".lora_B.")) {
                    try (NDManager m = NDManager.newBaseManager(); NDArray view = a.stopGradient()) {
                        view.set(new NDIndex("..."), m.randomNormal(0f, 0.1f, a.getShape(), DataType.FLOAT32));
                    }
                }
            }));
            adapted.parameters().values().forEach(p -> p.setRequiresGradient(true));
            Result kept = run(adapted, false, Integer.MAX_VALUE);
            Result recomputed = run(adapted, true, Integer.MAX_VALUE);
            assertSame(kept, recomputed, "LoRA");
            assertEquals(adapted.parameters().keySet(), kept.gradients.keySet());
            base.parameters().values().forEach(w -> assertTrue(!w.hasGradient(), "the frozen base has a gradient"));
        }
    }

    private record Result(float[] logProbs, Map<String, float[]> gradients) {
    }

    private static void assertSame(Result expected, Result actual, String what) {
        assertClose(expected.logProbs, actual.logProbs, what + ": log-probs");
        assertEquals(expected.gradients.keySet(), actual.gradients.keySet());
        for (String name : expected.gradients.keySet()) {
            assertClose(expected.gradients.get(name), actual.gradients.get(name), what + ": " + name + " gradient");
        }
    }

    /** Log-probs of fixed random targets at temperature 0.7 and the gradients of a fixed weighted sum of them. */
    private static Result run(PolicyModel model, boolean recompute, int chunk) {
        Random random = new Random(3);
        long[] ids = new long[ROWS * LENGTH];
        long[] targets = new long[ROWS * LENGTH];
        float[] weights = new float[ROWS * LENGTH];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = random.nextInt(VOCAB);
            targets[i] = random.nextInt(VOCAB);
            weights[i] = (float) random.nextGaussian();
        }
        float[] logProbs;
        try (NDManager m = NDManager.newBaseManager(Device.cpu());
             GradientCollector collector = Engine.getInstance().newGradientCollector()) {
            Shape shape = new Shape(ROWS, LENGTH);
            NDArray idArray = m.create(ids, shape);
            NDArray targetArray = m.create(targets, shape);
            PolicyModel.LayerRecompute layers = recompute
                    ? model.tokenLogProbsRecomputingLayers(idArray, targetArray, 0.7f, chunk) : null;
            NDArray lp = recompute ? layers.logProbs() : model.tokenLogProbs(idArray, targetArray, 0.7f, chunk);
            collector.backward(lp.mul(m.create(weights, shape)).sum());
            if (recompute) {
                layers.backwardThroughLayers(collector);
            }
            logProbs = lp.stopGradient().toFloatArray();
        }
        Map<String, float[]> gradients = new LinkedHashMap<>();
        model.parameters().forEach((name, p) -> {
            gradients.put(name, p.getGradient().toFloatArray());
            p.getGradient().subi(p.getGradient());
        });
        return new Result(logProbs, gradients);
    }

    private static void assertClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], TOLERANCE, what + " at " + i);
        }
    }

    private static double maxAbs(float[] values) {
        double max = 0;
        for (float v : values) {
            max = Math.max(max, Math.abs(v));
        }
        return max;
    }
}
