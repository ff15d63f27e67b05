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

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code init-model --tokenizer DIR --out DIR}: a freshly initialised Qwen2-architecture model in HF layout,
 * shaped by {@code eapo.model.init} in application.conf, with the tokenizer's files copied beside it.
 */
@Command(name = "init-model", mixinStandardHelpOptions = true,
        description = "Write a randomly initialised Qwen2-architecture checkpoint (HF layout) for a tokenizer.")
final class InitModelCommand implements Callable<Integer> {

    @Option(names = "--tokenizer", required = true, description = "Directory with tokenizer.json (+ tokenizer_config.json).")
    Path tokenizerDir;

    @Option(names = "--out", required = true, description = "Output model directory.")
    Path out;

    @Option(names = "--seed", defaultValue = "0", description = "default: ${DEFAULT-VALUE}")
    long seed;

    @Override
    public Integer call() throws Exception {
        Config init = ConfigFactory.load().getConfig("eapo.model.init");
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
                Checkpoint.save(model, out, tokenizerDir, init.getBytes("max-shard-bytes"));
                System.out.printf("wrote a %,d-parameter model to %s%n", config.parameterCount(), out);
            }
        }
        return 0;
    }
}
