package ai.eapo.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import ai.eapo.UserInputException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** LoRA adapters: exactness at step 0, the merged model, gradients, PEFT's file layout. */
class LoraTest {

    private static final LoraConfig ALL_MODULES = new LoraConfig(4, 8, 0,
            List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"));
    private static final long[] IDS = {3, 9, 4, 1, 7, 2};

    private static ModelConfig qwen2() {
        return ModelConfig.qwen2(40, 32, 64, 2, 4, 2, false, List.of(0));
    }

    /** A Qwen3 whose attention width (heads × head_dim = 48) is not its hidden size (32), with q/k norms. */
    private static ModelConfig qwen3() {
        ObjectNode json = new ObjectMapper().createObjectNode();
        json.putArray("architectures").add("Qwen3ForCausalLM");
        json.put("model_type", "qwen3");
        json.put("vocab_size", 40);
        json.put("hidden_size", 32);
        json.put("intermediate_size", 64);
        json.put("num_hidden_layers", 2);
        json.put("num_attention_heads", 4);
        json.put("num_key_value_heads", 2);
        json.put("head_dim", 12);
        json.put("rope_theta", 1000000.0);
        json.put("rms_norm_eps", 1e-6);
        json.put("tie_word_embeddings", true);
        json.put("torch_dtype", "float32");
        return ModelConfig.fromJson(json, "test");
    }

    private static float[] logits(PolicyModel model) {
        try (NDManager m = NDManager.newBaseManager()) {
            return model.logits(m.create(IDS, new Shape(1, IDS.length))).toFloatArray();
        }
    }

    /** Gives every lora_B values, so the adapters change what the model computes. */
    private static void randomiseB(PolicyModel adapted) {
        adapted.updateWeights(() -> adapted.parameters().forEach((name, a) -> {
            if (name.contains(".lora_B.")) {
                try (NDManager m = NDManager.newBaseManager(); NDArray view = a.stopGradient()) {
                    view.set(new ai.djl.ndarray.index.NDIndex("..."), m.randomNormal(0f, 0.2f, a.getShape(),
                            ai.djl.ndarray.types.DataType.FLOAT32));
                }
            }
        }));
    }

    @Test
    void aFreshAdapterLeavesTheModelExactlyAsItWas() {
        try (PolicyModel base = PolicyModel.random(qwen2(), Device.cpu(), 1, 0.3f);
             PolicyModel adapted = base.withLora(ALL_MODULES, 2)) {
            assertArrayEquals(logits(base), logits(adapted), 0f, "B = 0: step 0's policy is the base exactly");
            assertEquals(PolicyModel.adapterShapes(base.config(), ALL_MODULES).keySet(), adapted.parameters().keySet());
            assertSame(base.parameters().get("model.embed_tokens.weight"),
                    adapted.frozenWeights().get("model.embed_tokens.weight"), "the base is shared, not copied");
        }
    }

    @Test
    void theAdaptedForwardEqualsTheMergedModelsAndReplicasShareTheBase() {
        for (ModelConfig config : List.of(qwen2(), qwen3())) {
            try (PolicyModel base = PolicyModel.random(config, Device.cpu(), 1, 0.3f);
                 PolicyModel adapted = base.withLora(ALL_MODULES, 2)) {
                randomiseB(adapted);
                float[] expected = logits(adapted);
                assertTrue(maxDifference(logits(base), expected) > 1e-3, "the adapters change the model");
                try (PolicyModel merged = adapted.merged(); PolicyModel replica = adapted.replica();
                     PolicyModel view = adapted.inferenceView()) {
                    assertArrayEquals(expected, logits(merged), 1e-5f, config.modelType() + ": merged");
                    assertArrayEquals(expected, logits(replica), 0f, "a replica copies the adapters");
                    assertArrayEquals(expected, logits(view), 0f);
                    assertSame(adapted.frozenWeights(), replica.frozenWeights(), "and shares the base");
                }
            }
        }
    }

    @Test
    void gradientsReachTheAdaptersOnlyAndAdamWKeepsStateForThemAlone() {
        try (PolicyModel base = PolicyModel.random(qwen2(), Device.cpu(), 1, 0.3f);
             PolicyModel adapted = base.withLora(new LoraConfig(2, 4, 0, List.of("q_proj", "v_proj")), 2);
             ai.eapo.training.AdamW optimizer = new ai.eapo.training.AdamW(adapted,
                     new ai.eapo.algorithm.OptimizerOptions(1e-3, 0.9, 0.999, 0.0, 1e-8, 1.0, 1, 1))) {
            randomiseB(adapted);
            try (NDManager m = NDManager.newBaseManager(); GradientCollector collector =
                    Engine.getInstance().newGradientCollector()) {
                collector.backward(adapted.logits(m.create(IDS, new Shape(1, IDS.length))).square().mean());
            }
            long adapterElements = 0;
            for (Map.Entry<String, NDArray> p : adapted.parameters().entrySet()) {
                adapterElements += p.getValue().size();
                assertTrue(p.getValue().getGradient().abs().sum().getFloat() > 0, p.getKey() + " gets a gradient");
            }
            for (NDArray w : adapted.frozenWeights().values()) {
                assertFalse(w.hasGradient(), "the base is frozen");
            }
            assertEquals(2L * (2 * 32 + 32 * 2 + 2 * 32 + 16 * 2), adapterElements,
                    "per layer: q (A 2x32, B 32x2) and v (A 2x32, B 16x2)");
            long state = 0;
            for (NDArray moment : optimizer.firstMoments().values()) {
                state += moment.size();
            }
            for (NDArray moment : optimizer.secondMoments().values()) {
                state += moment.size();
            }
            assertEquals(2 * adapterElements, state, "AdamW's two moments cover the adapters only");
        }
    }

    @Test
    void adaptersAreWrittenAsPeftWritesThemAndReadBack(@TempDir Path dir) throws IOException {
        for (ModelConfig config : List.of(qwen2(), qwen3())) {
            Path baseDir = dir.resolve(config.modelType() + "-base");
            Path adapterDir = dir.resolve(config.modelType() + "-adapter");
            try (PolicyModel base = PolicyModel.random(config, Device.cpu(), 1, 0.3f);
                 PolicyModel adapted = base.withLora(ALL_MODULES, 2)) {
                randomiseB(adapted);
                Checkpoint.save(base, baseDir, null, Long.MAX_VALUE);
                LoraAdapters.save(adapted, adapterDir, baseDir.toString(), null);
                float[] expected = logits(adapted);

                JsonNode json = new ObjectMapper().readTree(adapterDir.resolve("adapter_config.json").toFile());
                assertEquals("LORA", json.get("peft_type").asText());
                assertEquals("CAUSAL_LM", json.get("task_type").asText());
                assertEquals(4, json.get("r").asInt());
                assertEquals(8.0, json.get("lora_alpha").asDouble());
                assertEquals("none", json.get("bias").asText());
                assertEquals(baseDir.toString(), json.get("base_model_name_or_path").asText());

                // PEFT's names and shapes, written out: A [r, in], B [out, r], under base_model.model.
                int attention = config.numHeads() * config.headDim();
                int kv = config.numKvHeads() * config.headDim();
                Map<String, Shape> expectedLayer0 = new LinkedHashMap<>();
                String p = "base_model.model.model.layers.0.";
                expectedLayer0.put(p + "self_attn.q_proj.lora_A.weight", new Shape(4, 32));
                expectedLayer0.put(p + "self_attn.q_proj.lora_B.weight", new Shape(attention, 4));
                expectedLayer0.put(p + "self_attn.k_proj.lora_B.weight", new Shape(kv, 4));
                expectedLayer0.put(p + "self_attn.o_proj.lora_A.weight", new Shape(4, attention));
                expectedLayer0.put(p + "self_attn.o_proj.lora_B.weight", new Shape(32, 4));
                expectedLayer0.put(p + "mlp.down_proj.lora_A.weight", new Shape(4, 64));
                expectedLayer0.put(p + "mlp.gate_proj.lora_B.weight", new Shape(64, 4));
                try (SafeTensors.File st = SafeTensors.open(adapterDir.resolve("adapter_model.safetensors"))) {
                    assertEquals(2 * 7 * 2, st.entries().size(), "2 layers x 7 modules x (A, B)");
                    expectedLayer0.forEach((name, shape) -> {
                        assertTrue(st.entries().containsKey(name), name + " in " + st.entries().keySet());
                        assertEquals(shape, new Shape(st.entries().get(name).shape()), name);
                    });
                }

                try (PolicyModel loaded = Checkpoint.load(adapterDir, Device.cpu())) {
                    assertArrayEquals(expected, logits(loaded), 0f, "read back on the base its config names");
                    assertEquals(ALL_MODULES, loaded.lora());
                }
            }
        }
    }

    @Test
    void unsupportedSettingsAreRefusedByName() {
        UserInputException dropout = assertThrows(UserInputException.class,
                () -> new LoraConfig(4, 8, 0.05, List.of("q_proj")));
        assertTrue(dropout.getMessage().contains("dropout"), dropout.getMessage());
        UserInputException module = assertThrows(UserInputException.class,
                () -> new LoraConfig(4, 8, 0, List.of("qkv_proj")));
        assertTrue(module.getMessage().contains("qkv_proj"), module.getMessage());
    }

    private static double maxDifference(float[] a, float[] b) {
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }
}
