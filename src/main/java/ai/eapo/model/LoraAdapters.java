package ai.eapo.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.eapo.UserInputException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * LoRA adapters on disk in PEFT's layout, so {@code PeftModel.from_pretrained(base, dir)} loads what we write and we
 * load what PEFT writes: {@code adapter_config.json} ({@code peft_type LORA}, {@code r}, {@code lora_alpha},
 * {@code target_modules}, {@code lora_dropout}, {@code bias none}, {@code task_type CAUSAL_LM},
 * {@code base_model_name_or_path}) and {@code adapter_model.safetensors} with PEFT's key names
 * ({@code base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight}, A [r, in], B [out, r]).
 */
public final class LoraAdapters {

    public static final String CONFIG_FILE = "adapter_config.json";
    public static final String WEIGHTS_FILE = "adapter_model.safetensors";
    /** What PEFT puts before a module's name inside a causal LM. */
    static final String PEFT_PREFIX = "base_model.model.";

    private static final ObjectMapper JSON = new ObjectMapper();

    private LoraAdapters() {
    }

    /** Whether {@code dir} holds an adapter rather than a whole checkpoint. */
    public static boolean isAdapter(Path dir) {
        return Files.isRegularFile(dir.resolve(CONFIG_FILE));
    }

    /**
     * Writes {@code model}'s adapters to {@code out} in PEFT's layout, naming {@code baseModel} (the base's directory
     * or hub id) as their base, with the tokenizer files of {@code tokenizerDir} beside them when it is not null.
     * Written to a temporary directory first and moved into place, so {@code out} is whole or absent.
     */
    public static void save(PolicyModel model, Path out, String baseModel, Path tokenizerDir) throws IOException {
        LoraConfig lora = model.lora();
        if (lora == null) {
            throw new IllegalArgumentException("the model has no adapters to save");
        }
        Path parent = out.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Path tmp = Files.createTempDirectory(parent, "." + out.getFileName() + ".partial-");
        ObjectNode config = JSON.createObjectNode();
        config.put("peft_type", "LORA");
        config.put("task_type", "CAUSAL_LM");
        config.put("base_model_name_or_path", baseModel);
        config.put("r", lora.rank());
        config.put("lora_alpha", lora.alpha());
        config.put("lora_dropout", lora.dropout());
        config.put("bias", "none");
        config.put("fan_in_fan_out", false);
        config.put("inference_mode", true);
        config.put("use_rslora", false);
        config.putArray("target_modules").addAll(lora.targetModules().stream().map(config::textNode).toList());
        try (OutputStream stream = Files.newOutputStream(tmp.resolve(CONFIG_FILE))) {
            JSON.writerWithDefaultPrettyPrinter().writeValue(stream, config);
        }
        Map<String, NDArray> named = new LinkedHashMap<>();
        model.parameters().forEach((name, a) -> named.put(PEFT_PREFIX + name, a));
        SafeTensors.write(tmp.resolve(WEIGHTS_FILE), named, "F32");
        if (tokenizerDir != null) {
            PolicyTokenizer.copyFiles(tokenizerDir, tmp);
        }
        Checkpoint.replaceDirectory(tmp, out);
    }

    /** The adapters' settings in {@code dir}'s adapter_config.json. */
    public static LoraConfig readConfig(Path dir) {
        JsonNode c = readJson(dir.resolve(CONFIG_FILE));
        String where = dir.resolve(CONFIG_FILE).toString();
        if (!"LORA".equals(c.path("peft_type").asText())) {
            throw new UserInputException(where + ": peft_type is '" + c.path("peft_type").asText() + "', only LORA is supported");
        }
        if (c.path("use_rslora").asBoolean(false) || c.path("use_dora").asBoolean(false)) {
            throw new UserInputException(where + ": rsLoRA and DoRA are not supported, only plain LoRA");
        }
        if (!"none".equals(c.path("bias").asText("none"))) {
            throw new UserInputException(where + ": bias '" + c.path("bias").asText() + "' is not supported, only none");
        }
        List<String> modules = new ArrayList<>();
        JsonNode targets = c.path("target_modules");
        if (targets.isTextual()) {
            throw new UserInputException(where + ": target_modules as a pattern ('" + targets.asText()
                    + "') is not supported; list the module names");
        }
        targets.forEach(t -> modules.add(t.asText()));
        try {
            return new LoraConfig(c.path("r").asInt(), c.path("lora_alpha").asDouble(), c.path("lora_dropout").asDouble(),
                    modules);
        } catch (UserInputException e) {
            throw new UserInputException(where + ": " + e.getMessage());
        }
    }

    /**
     * The base under {@code modelDir}: the directory an adapter names, or {@code modelDir} itself when it holds a
     * whole checkpoint. This is what adapters trained from {@code modelDir} name as theirs.
     */
    public static Path baseUnder(Path modelDir) {
        return isAdapter(modelDir) ? baseOf(modelDir) : modelDir;
    }

    /** The base model's directory as adapter_config.json names it (resolved against {@code dir} when relative). */
    public static Path baseOf(Path dir) {
        String base = readJson(dir.resolve(CONFIG_FILE)).path("base_model_name_or_path").asText("");
        if (base.isEmpty()) {
            throw new UserInputException(dir.resolve(CONFIG_FILE) + ": base_model_name_or_path is empty; set it to "
                    + "the base model's local directory (merge-lora also takes --base DIR)");
        }
        Path path = Path.of(base);
        return path.isAbsolute() || Files.isDirectory(path) ? path : dir.resolve(path).normalize();
    }

    /**
     * The adapter in {@code dir} on its base ({@code base}, or the directory its config names when null), loaded
     * onto {@code device}: the returned model owns the base and closes it with itself.
     */
    public static PolicyModel load(Path dir, Path base, Device device) {
        return load(dir, base, device, InferencePrecision.FLOAT32);
    }

    /** {@link #load(Path, Path, Device)} with the frozen base in {@code basePrecision} (the adapters in fp32). */
    public static PolicyModel load(Path dir, Path base, Device device, InferencePrecision basePrecision) {
        Path baseDir = base != null ? base : baseOf(dir);
        if (!Files.isDirectory(baseDir)) {
            throw new UserInputException(dir + ": its base model " + baseDir + " does not exist; set base_model_name_or_path "
                    + "in its " + CONFIG_FILE + " to the base's local directory (merge-lora also takes --base DIR)");
        }
        if (isAdapter(baseDir)) {
            throw new UserInputException(dir + ": its base " + baseDir + " is itself an adapter; merge it first "
                    + "(eapo-node merge-lora)");
        }
        LoraConfig lora = readConfig(dir);
        PolicyModel baseModel = Checkpoint.load(baseDir, device, basePrecision);
        PolicyModel adapted = null;
        try (NDManager scratch = NDManager.newBaseManager(device)) {
            adapted = baseModel.withLora(lora, 0);
            adapted.loadWeights(readTensors(dir, baseModel.config(), scratch));
            return adapted.owningBase(baseModel);
        } catch (RuntimeException e) {
            closeQuietly(adapted, baseModel);
            throw e;
        }
    }

    /**
     * The adapter tensors in {@code dir} for a base of {@code config}, by our names, in {@code manager}: every one
     * its adapter_config.json calls for, each of the shape the base implies.
     */
    public static Map<String, NDArray> readTensors(Path dir, ModelConfig config, NDManager manager) {
        Map<String, Shape> shapes = PolicyModel.adapterShapes(config, readConfig(dir));
        Path file = dir.resolve(WEIGHTS_FILE);
        if (!Files.isRegularFile(file)) {
            throw new UserInputException(dir + ": has no " + WEIGHTS_FILE);
        }
        try (SafeTensors.File st = SafeTensors.open(file)) {
            Map<String, NDArray> loaded = new LinkedHashMap<>();
            for (Map.Entry<String, Shape> e : shapes.entrySet()) {
                SafeTensors.Entry entry = st.entries().get(PEFT_PREFIX + e.getKey());
                if (entry == null) {
                    throw new UserInputException(file + ": tensor '" + PEFT_PREFIX + e.getKey() + "' is missing");
                }
                if (!new Shape(entry.shape()).equals(e.getValue())) {
                    throw new UserInputException(file + ": tensor '" + PEFT_PREFIX + e.getKey() + "' has shape "
                            + new Shape(entry.shape()) + ", expected " + e.getValue());
                }
                loaded.put(e.getKey(), st.load(PEFT_PREFIX + e.getKey(), manager));
            }
            return loaded;
        } catch (IOException e) {
            throw new UserInputException(dir + ": cannot read the adapter (" + e.getMessage() + ")", e);
        }
    }

    private static void closeQuietly(PolicyModel adapted, PolicyModel base) {
        if (adapted != null) {
            adapted.close();
        }
        base.close();
    }

    private static JsonNode readJson(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new UserInputException(file + " does not exist");
        }
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new UserInputException(file + ": not valid JSON (" + e.getMessage().lines().findFirst().orElse("") + ")");
        }
    }
}
