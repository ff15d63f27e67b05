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
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Reads and writes models in the Hugging Face directory layout: {@code config.json}, {@code model.safetensors}
 * or shards listed in {@code model.safetensors.index.json}, and the tokenizer files.
 */
public final class Checkpoint {

    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";

    private static final ObjectMapper JSON = new ObjectMapper();

    private Checkpoint() {
    }

    /** Parses a device name from configuration: {@code cpu} or {@code gpu:N}. */
    public static Device device(String name) {
        if (name.equals("cpu")) {
            return Device.cpu();
        }
        if (name.matches("gpu:\\d+")) {
            return Device.gpu(Integer.parseInt(name.substring(4)));
        }
        throw new UserInputException("device '" + name + "' is not valid (use cpu or gpu:N)");
    }

    /**
     * Loads a model directory onto {@code device} to sample with {@code vocabulary}, its tokenizer's ids: the
     * logits leave out the embedding rows that pad past them ({@link PolicyModel#limitVocabulary}).
     */
    public static PolicyModel load(Path dir, Device device, TokenizerVocabulary vocabulary) {
        return load(dir, device, vocabulary, InferencePrecision.FLOAT32);
    }

    /** {@link #load(Path, Device, TokenizerVocabulary)} with the weights in {@code precision}, for inference only. */
    public static PolicyModel load(Path dir, Device device, TokenizerVocabulary vocabulary,
                                   InferencePrecision precision) {
        PolicyModel model = load(dir, device, precision);
        try {
            model.limitVocabulary(vocabulary.size());
        } catch (RuntimeException e) {
            model.close();
            throw new UserInputException(dir + ": " + e.getMessage(), e);
        }
        return model;
    }

    /**
     * The policy a run trains from {@code dir}, sampling over {@code vocabulary}: the checkpoint itself (fp32: it
     * trains); with {@code lora} (not null), fresh adapters on it (seeded by {@code seed}) that own it as their
     * frozen base, in {@code basePrecision}; an adapter directory as it is (its own adapter_config.json decides the
     * adapters), its base in {@code basePrecision}.
     */
    public static PolicyModel loadForTraining(Path dir, Device device, TokenizerVocabulary vocabulary, LoraConfig lora,
                                              long seed, InferencePrecision basePrecision) {
        boolean frozen = lora != null || LoraAdapters.isAdapter(dir);
        PolicyModel loaded = load(dir, device, vocabulary, frozen ? basePrecision : InferencePrecision.FLOAT32);
        if (lora == null || loaded.lora() != null) {
            return loaded;
        }
        return loaded.withLora(lora, seed).owningBase(loaded);
    }

    /**
     * Loads a model directory onto {@code device}, checking every tensor's presence and shape. A PEFT adapter
     * directory ({@code adapter_config.json}) loads on the base its config names ({@link LoraAdapters#load}).
     */
    public static PolicyModel load(Path dir, Device device) {
        return load(dir, device, InferencePrecision.FLOAT32);
    }

    /**
     * {@link #load(Path, Device)} with the checkpoint's (or an adapter's base's) weights in {@code precision};
     * adapters load in fp32.
     */
    public static PolicyModel load(Path dir, Device device, InferencePrecision precision) {
        if (!Files.isDirectory(dir)) {
            throw new UserInputException("model directory " + dir + " does not exist");
        }
        if (LoraAdapters.isAdapter(dir)) {
            return LoraAdapters.load(dir, null, device, precision);
        }
        ModelConfig config = ModelConfig.read(dir);
        Map<String, Path> locations = tensorLocations(dir);
        Map<String, SafeTensors.File> open = new HashMap<>();
        NDManager manager = NDManager.newBaseManager(device);
        try {
            Map<String, NDArray> weights = new LinkedHashMap<>();
            for (Map.Entry<String, Shape> e : PolicyModel.expectedShapes(config).entrySet()) {
                String name = e.getKey();
                Path file = locations.get(name);
                if (file == null) {
                    throw new UserInputException(dir + ": tensor '" + name + "' is missing (expected shape " + e.getValue() + ")");
                }
                SafeTensors.File st = open.computeIfAbsent(file.toString(), k -> SafeTensors.open(file));
                SafeTensors.Entry entry = st.entries().get(name);
                if (entry == null) {
                    throw new UserInputException(file + ": has no tensor '" + name + "' although " + INDEX_FILE
                            + " maps it to this file");
                }
                Shape actual = new Shape(entry.shape());
                if (!actual.equals(e.getValue())) {
                    throw new UserInputException(dir + ": tensor '" + name + "' has shape " + actual
                            + ", expected " + e.getValue());
                }
                weights.put(name, st.load(name, manager, precision.dataType()));
            }
            return new PolicyModel(config, manager, weights);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        } finally {
            for (SafeTensors.File f : open.values()) {
                try {
                    f.close();
                } catch (IOException ignored) {
                    // read-only file; nothing was written
                }
            }
        }
    }

    /** Which file holds each tensor: the single file's header, or the shard index's weight_map. */
    private static Map<String, Path> tensorLocations(Path dir) {
        Path single = dir.resolve(SINGLE_FILE);
        Path index = dir.resolve(INDEX_FILE);
        Map<String, Path> out = new HashMap<>();
        if (Files.isRegularFile(index)) {
            JsonNode map;
            try {
                map = JSON.readTree(index.toFile()).get("weight_map");
            } catch (IOException e) {
                throw new UserInputException(index + ": not valid JSON");
            }
            if (map == null || !map.isObject()) {
                throw new UserInputException(index + ": has no weight_map object");
            }
            for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                out.put(e.getKey(), dir.resolve(e.getValue().asText()));
            }
            return out;
        }
        if (Files.isRegularFile(single)) {
            try (SafeTensors.File f = SafeTensors.open(single)) {
                f.entries().keySet().forEach(name -> out.put(name, single));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return out;
        }
        String hint = Files.exists(dir.resolve("pytorch_model.bin"))
                ? " (pytorch_model.bin is a pickle file and is not loaded: convert it to safetensors)" : "";
        throw new UserInputException(dir + ": no " + SINGLE_FILE + " or " + INDEX_FILE + hint);
    }

    /**
     * Writes {@code model} to {@code out} in HF layout, in the dtype of the config's {@code torch_dtype},
     * sharded when larger than {@code maxShardBytes}; tokenizer files are copied from {@code tokenizerDir}
     * when given. The directory is written under a temporary name and renamed, so a reader never sees half
     * a checkpoint.
     */
    public static void save(PolicyModel model, Path out, Path tokenizerDir, long maxShardBytes) throws IOException {
        save(model, out, tokenizerDir, maxShardBytes, SafeTensors.dtypeFor(model.config().torchDtype()));
    }

    /**
     * What training writes of {@code model}, which started from {@code modelDir}: a whole checkpoint as
     * {@link #save(PolicyModel, Path, Path, long, String)} does, or with LoRA its adapters in PEFT's layout naming
     * the base under {@code modelDir} (tokenizer files copied from {@code modelDir} either way).
     */
    public static void saveTrained(PolicyModel model, Path out, Path modelDir, long maxShardBytes, String dtype)
            throws IOException {
        if (model.lora() != null) {
            LoraAdapters.save(model, out, LoraAdapters.baseUnder(modelDir).toAbsolutePath().normalize().toString(),
                    modelDir);
        } else {
            save(model, out, modelDir, maxShardBytes, dtype);
        }
    }

    /** As {@link #save(PolicyModel, Path, Path, long)}, with the tensors in safetensors dtype {@code dtype} (e.g. F32). */
    public static void save(PolicyModel model, Path out, Path tokenizerDir, long maxShardBytes, String dtype)
            throws IOException {
        Path parent = out.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Path tmp = Files.createTempDirectory(parent, "." + out.getFileName() + ".partial-");
        int width = SafeTensors.bytesPerElement(dtype, out, "*");
        try (OutputStream stream = Files.newOutputStream(tmp.resolve("config.json"))) {
            JSON.writerWithDefaultPrettyPrinter().writeValue(stream, model.config().json());
        }

        List<Map<String, NDArray>> shards = new ArrayList<>();
        Map<String, NDArray> current = new LinkedHashMap<>();
        long currentBytes = 0;
        long totalBytes = 0;
        for (Map.Entry<String, NDArray> e : model.parameters().entrySet()) {
            long bytes = e.getValue().size() * width;
            if (!current.isEmpty() && currentBytes + bytes > maxShardBytes) {
                shards.add(current);
                current = new LinkedHashMap<>();
                currentBytes = 0;
            }
            current.put(e.getKey(), e.getValue());
            currentBytes += bytes;
            totalBytes += bytes;
        }
        shards.add(current);
        if (shards.size() == 1) {
            SafeTensors.write(tmp.resolve(SINGLE_FILE), shards.get(0), dtype);
        } else {
            ObjectNode index = JSON.createObjectNode();
            index.putObject("metadata").put("total_size", totalBytes);
            ObjectNode weightMap = index.putObject("weight_map");
            for (int i = 0; i < shards.size(); i++) {
                String name = String.format("model-%05d-of-%05d.safetensors", i + 1, shards.size());
                SafeTensors.write(tmp.resolve(name), shards.get(i), dtype);
                shards.get(i).keySet().forEach(t -> weightMap.put(t, name));
            }
            try (OutputStream stream = Files.newOutputStream(tmp.resolve(INDEX_FILE))) {
                JSON.writerWithDefaultPrettyPrinter().writeValue(stream, index);
            }
        }
        if (tokenizerDir != null) {
            PolicyTokenizer.copyFiles(tokenizerDir, tmp);
        }
        replaceDirectory(tmp, out);
    }

    /** Puts the finished directory {@code tmp} at {@code out}, replacing what was there. */
    static void replaceDirectory(Path tmp, Path out) throws IOException {
        if (Files.exists(out)) {
            deleteTree(out);
        }
        Files.move(tmp, out, StandardCopyOption.ATOMIC_MOVE);
    }

    /** Deletes {@code dir} and everything below it. */
    public static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
