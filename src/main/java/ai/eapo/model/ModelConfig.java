package ai.eapo.model;

import ai.eapo.UserInputException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The architecture of a decoder-only Qwen2 / Qwen2.5 / Qwen3 / LLaMA-style model, read from a Hugging Face
 * {@code config.json}. The original JSON is kept so that a saved checkpoint carries every key it came with.
 */
public record ModelConfig(
        String modelType,
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        double ropeTheta,
        double rmsNormEps,
        boolean tieWordEmbeddings,
        boolean attentionBias,
        boolean outputBias,
        boolean mlpBias,
        boolean qkNorm,
        int maxPositionEmbeddings,
        List<Integer> eosTokenIds,
        String torchDtype,
        ObjectNode json) {

    /** Architectures that share this code path; Qwen3 adds per-head q/k RMSNorm, Qwen2 adds q/k/v bias. */
    static final Set<String> SUPPORTED_TYPES = Set.of("qwen2", "qwen3", "llama", "mistral");

    private static final ObjectMapper JSON = new ObjectMapper();
    /** transformers' defaults for Qwen2 / LLaMA configs that omit these fields (the checkpoint format, not settings). */
    private static final double DEFAULT_ROPE_THETA = 10000.0;
    private static final double DEFAULT_RMS_NORM_EPS = 1e-6;
    private static final int DEFAULT_MAX_POSITION_EMBEDDINGS = 32768;
    /** Longest position a model the project makes itself ({@link #qwen2}) is declared for. */
    private static final int OWN_MODEL_MAX_POSITION_EMBEDDINGS = 2048;

    public static ModelConfig read(Path dir) {
        if (LoraAdapters.isAdapter(dir)) {
            return read(LoraAdapters.baseOf(dir)); // an adapter has its base's architecture
        }
        Path file = dir.resolve("config.json");
        if (!Files.isRegularFile(file)) {
            throw new UserInputException("model directory " + dir + " has no config.json");
        }
        try {
            JsonNode node = JSON.readTree(file.toFile());
            if (!(node instanceof ObjectNode obj)) {
                throw new UserInputException(file + ": expected a JSON object");
            }
            return fromJson(obj, file.toString());
        } catch (IOException e) {
            throw new UserInputException(file + ": not valid JSON (" + e.getMessage().lines().findFirst().orElse("") + ")");
        }
    }

    public static ModelConfig fromJson(ObjectNode json, String where) {
        String type = json.path("model_type").asText("");
        if (!SUPPORTED_TYPES.contains(type)) {
            throw new UserInputException(where + ": unknown model_type '" + type + "' (supported: "
                    + String.join(", ", SUPPORTED_TYPES.stream().sorted().toList()) + ")");
        }
        JsonNode ropeScaling = json.hasNonNull("rope_scaling") ? json.get("rope_scaling") : json.get("rope_parameters");
        if (ropeScaling != null && !ropeScaling.isNull()) {
            String ropeType = ropeScaling.path("rope_type").asText(ropeScaling.path("type").asText("default"));
            if (!ropeType.equals("default")) {
                throw new UserInputException(where + ": rope_scaling type '" + ropeType + "' is not supported");
            }
        }
        int hidden = requiredInt(json, "hidden_size", where);
        int heads = requiredInt(json, "num_attention_heads", where);
        int kvHeads = json.path("num_key_value_heads").asInt(heads);
        int headDim = json.hasNonNull("head_dim") ? json.get("head_dim").asInt() : hidden / heads;
        if (kvHeads <= 0) {
            throw new UserInputException(where + ": 'num_key_value_heads' must be a positive integer, got " + kvHeads);
        }
        if (headDim <= 0) {
            throw new UserInputException(where + ": 'head_dim' must be a positive integer, got " + headDim);
        }
        if (heads % kvHeads != 0) {
            throw new UserInputException(where + ": num_attention_heads " + heads
                    + " is not a multiple of num_key_value_heads " + kvHeads);
        }
        if (headDim % 2 != 0) {
            throw new UserInputException(where + ": head_dim " + headDim + " must be even for rotary embeddings");
        }
        boolean qwen2 = type.equals("qwen2");
        return new ModelConfig(
                type,
                requiredInt(json, "vocab_size", where),
                hidden,
                requiredInt(json, "intermediate_size", where),
                requiredInt(json, "num_hidden_layers", where),
                heads,
                kvHeads,
                headDim,
                // Newer transformers write rope settings under rope_parameters.
                json.path("rope_theta").asDouble(json.path("rope_parameters").path("rope_theta").asDouble(DEFAULT_ROPE_THETA)),
                json.path("rms_norm_eps").asDouble(DEFAULT_RMS_NORM_EPS),
                json.path("tie_word_embeddings").asBoolean(false),
                // Qwen2 always has q/k/v bias (and no o_proj bias); LLaMA / Qwen3 say so with attention_bias,
                // which then covers o_proj too, and with mlp_bias for the MLP.
                qwen2 || json.path("attention_bias").asBoolean(false),
                !qwen2 && json.path("attention_bias").asBoolean(false),
                json.path("mlp_bias").asBoolean(false),
                type.equals("qwen3"),
                json.path("max_position_embeddings").asInt(DEFAULT_MAX_POSITION_EMBEDDINGS),
                intList(json.get("eos_token_id")),
                json.path("torch_dtype").asText(json.path("dtype").asText("float32")),
                json.deepCopy());
    }

    /** A fresh config for a model the project makes itself (tiny models, benchmarks). */
    public static ModelConfig qwen2(int vocab, int hidden, int intermediate, int layers, int heads, int kvHeads,
                                    boolean tied, List<Integer> eos) {
        ObjectNode json = JSON.createObjectNode();
        json.putArray("architectures").add("Qwen2ForCausalLM");
        json.put("model_type", "qwen2");
        json.put("hidden_act", "silu");
        json.put("vocab_size", vocab);
        json.put("hidden_size", hidden);
        json.put("intermediate_size", intermediate);
        json.put("num_hidden_layers", layers);
        json.put("num_attention_heads", heads);
        json.put("num_key_value_heads", kvHeads);
        json.put("head_dim", hidden / heads);
        json.put("rope_theta", DEFAULT_ROPE_THETA);
        json.put("rms_norm_eps", DEFAULT_RMS_NORM_EPS);
        json.put("max_position_embeddings", OWN_MODEL_MAX_POSITION_EMBEDDINGS);
        json.put("tie_word_embeddings", tied);
        json.put("torch_dtype", "float32");
        var eosArray = json.putArray("eos_token_id");
        eos.forEach(eosArray::add);
        return fromJson(json, "generated config");
    }

    public int kvGroups() {
        return numHeads / numKvHeads;
    }

    /** Number of trainable parameters, from the shapes alone. */
    public long parameterCount() {
        return PolicyModel.expectedShapes(this).values().stream().mapToLong(ai.djl.ndarray.types.Shape::size).sum();
    }

    private static int requiredInt(JsonNode json, String key, String where) {
        JsonNode v = json.get(key);
        if (v == null || !v.canConvertToInt() || v.asInt() <= 0) {
            throw new UserInputException(where + ": '" + key + "' must be a positive integer, got " + v);
        }
        return v.asInt();
    }

    private static List<Integer> intList(JsonNode node) {
        List<Integer> out = new ArrayList<>();
        if (node == null || node.isNull()) {
            return out;
        }
        if (node.isArray()) {
            node.forEach(n -> out.add(n.asInt()));
        } else {
            out.add(node.asInt());
        }
        return out;
    }
}
