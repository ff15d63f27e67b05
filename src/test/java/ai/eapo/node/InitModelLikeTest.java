package ai.eapo.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.types.Shape;
import ai.eapo.model.Checkpoint;
import ai.eapo.model.ModelConfig;
import ai.eapo.model.PolicyModel;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** {@code init-model --like}: random weights of exactly a given architecture, loadable, with the config kept. */
class InitModelLikeTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** A small Qwen3 (q/k norms, no biases), untied, bf16 on disk, GQA 4 over 2 with head_dim ≠ hidden / heads. */
    private static ObjectNode qwen3() {
        ObjectNode json = JSON.createObjectNode();
        json.put("model_type", "qwen3").put("vocab_size", 128).put("hidden_size", 64).put("intermediate_size", 96)
                .put("num_hidden_layers", 2).put("num_attention_heads", 4).put("num_key_value_heads", 2)
                .put("head_dim", 32).put("tie_word_embeddings", false).put("rms_norm_eps", 1e-6)
                .put("rope_theta", 1000000.0).put("initializer_range", 0.02).put("torch_dtype", "bfloat16")
                .put("eos_token_id", 0);
        return json;
    }

    @Test
    void aCheckpointOfExactlyTheGivenShapeLoadsWithEveryTensor(@TempDir Path dir) throws Exception {
        Path like = Files.createDirectories(dir.resolve("shape"));
        JSON.writeValue(like.resolve("config.json").toFile(), qwen3());
        Path out = dir.resolve("random");
        EapoNodeTest.Run r = EapoNodeTest.run("init-model", "--like", like.resolve("config.json").toString(),
                "--tokenizer", "models/tiny-base", "--out", out.toString(), "--seed", "3");
        assertEquals(0, r.exit(), r.err());

        ModelConfig expected = ModelConfig.read(like);
        assertEquals(JSON.readTree(like.resolve("config.json").toFile()), JSON.readTree(out.resolve("config.json").toFile()),
                "config.json as given");
        assertTrue(Files.exists(out.resolve("tokenizer.json")));
        try (PolicyModel model = Checkpoint.load(out, Device.cpu())) {
            Map<String, Shape> shapes = PolicyModel.expectedShapes(expected);
            assertEquals(shapes.keySet(), model.parameters().keySet());
            shapes.forEach((name, shape) -> assertEquals(shape, model.parameters().get(name).getShape(), name));
            assertTrue(model.parameters().containsKey("lm_head.weight"), "untied");
            assertTrue(model.parameters().containsKey("model.layers.1.self_attn.k_norm.weight"), "q/k norms");
            float[] q = model.parameters().get("model.layers.0.self_attn.q_proj.weight").toFloatArray();
            double sumSquares = 0;
            for (float v : q) {
                sumSquares += v * v;
            }
            assertEquals(0.02, Math.sqrt(sumSquares / q.length), 0.002, "initializer_range is the std");
        }
    }

    @Test
    void somethingThatIsNotAConfigIsRefused(@TempDir Path dir) throws Exception {
        Path notConfig = Files.writeString(dir.resolve("weights.bin"), "x");
        EapoNodeTest.Run r = EapoNodeTest.run("init-model", "--like", notConfig.toString(), "--tokenizer",
                "models/tiny-base", "--out", dir.resolve("out").toString());
        assertEquals(EapoNode.EXIT_BAD_INPUT, r.exit(), r.err());
        assertTrue(r.err().contains("weights.bin"), r.err());
    }
}
