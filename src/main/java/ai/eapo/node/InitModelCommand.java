package ai.eapo.node;

import ai.djl.Device;
import ai.eapo.UserInputException;
import ai.eapo.model.Checkpoint;
import ai.eapo.model.ModelConfig;
import ai.eapo.model.PolicyModel;
import ai.eapo.model.PolicyTokenizer;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code init-model --tokenizer DIR --out DIR}: a freshly initialised model in HF layout with the tokenizer's
 * files copied beside it: shaped by {@code eapo.model.init} in application.conf (a Qwen2-architecture tiny
 * model), or with {@code --like} exactly as a checkpoint's config.json says (any supported model_type, tied or
 * untied, q/k norms and biases as configured), so that real-size runs can be measured without the weights.
 */
@Command(name = "init-model", mixinStandardHelpOptions = true,
        description = "Write a randomly initialised checkpoint (HF layout) for a tokenizer, shaped by eapo.model.init "
                + "or exactly like a given config.json.")
final class InitModelCommand implements Callable<Integer> {

    @Option(names = "--like", description = "A model directory or its config.json: the new checkpoint gets exactly "
            + "this architecture (config.json copied as is), with random weights.")
    Path like;

    @Option(names = "--tokenizer", required = true, description = "Directory with tokenizer.json (+ tokenizer_config.json).")
    Path tokenizerDir;

    @Option(names = "--out", required = true, description = "Output model directory.")
    Path out;

    @Option(names = "--seed", defaultValue = "0", description = "default: ${DEFAULT-VALUE}")
    long seed;

    @Override
    public Integer call() throws Exception {
        Config settings = ConfigOptions.refuseRenamedKeys(ConfigFactory.load());
        Config init = settings.getConfig("eapo.model.init");
        long maxShardBytes = settings.getBytes(ConfigOptions.MAX_SHARD_BYTES);
        if (like != null) {
            return initLike(init, maxShardBytes);
        }
        try (PolicyTokenizer tokenizer = PolicyTokenizer.load(tokenizerDir, null)) {
            if (tokenizer.eosIds().isEmpty()) {
                throw new UserInputException(tokenizerDir + ": tokenizer_config.json names no eos_token");
            }
            int vocab = init.getInt("vocab-size");
            ModelConfig config = ModelConfig.qwen2(vocab, init.getInt("hidden-size"), init.getInt("intermediate-size"),
                    init.getInt("layers"), init.getInt("heads"), init.getInt("kv-heads"),
                    init.getBoolean("tie-word-embeddings"),
                    tokenizer.eosIds().stream().map(Long::intValue).sorted().toList());
            try (PolicyModel model = PolicyModel.random(config, Device.cpu(), seed, (float) init.getDouble("init-std"))) {
                Checkpoint.save(model, out, tokenizerDir, maxShardBytes);
                System.out.printf("wrote a %,d-parameter model to %s%n", config.parameterCount(), out);
            }
        }
        return 0;
    }

    /**
     * Random weights of {@code --like}'s architecture: normal(0, initializer_range) matrices (eapo.model.init's
     * init-std when the config has none), unit norms, zero biases; written in the config's torch_dtype.
     */
    private int initLike(Config init, long maxShardBytes) throws Exception {
        Path dir = Files.isDirectory(like) ? like : like.toAbsolutePath().getParent();
        if (!Files.isDirectory(like) && !like.getFileName().toString().equals("config.json")) {
            throw new UserInputException("--like " + like + ": expected a model directory or a config.json");
        }
        ModelConfig config = ModelConfig.read(dir);
        PolicyTokenizer.load(tokenizerDir, config).close(); // refuses a directory without a loadable tokenizer first
        double std = config.json().path("initializer_range").asDouble(init.getDouble("init-std"));
        try (PolicyModel model = PolicyModel.random(config, Device.cpu(), seed, (float) std)) {
            Checkpoint.save(model, out, tokenizerDir, maxShardBytes);
        }
        System.out.printf("wrote a %,d-parameter %s model shaped like %s (random weights) to %s%n",
                config.parameterCount(), config.modelType(), dir, out);
        return 0;
    }
}
