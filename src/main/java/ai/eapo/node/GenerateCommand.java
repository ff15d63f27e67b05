package ai.eapo.node;

import ai.eapo.model.Checkpoint;
import ai.eapo.model.Generator;
import ai.eapo.model.PolicyModel;
import ai.eapo.model.PolicyTokenizer;
import ai.eapo.model.SamplingParams;
import ai.eapo.UserInputException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.List;
import java.util.concurrent.Callable;

/** {@code generate --model DIR --prompt TEXT ...}: prints the model's continuation of a prompt. */
@Command(name = "generate", mixinStandardHelpOptions = true, description = "Continue a prompt with a local model.")
final class GenerateCommand implements Callable<Integer> {

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--prompt", required = true, description = "Prompt text (used as is; no chat template).")
    String prompt;

    @Option(names = "--max-new-tokens", defaultValue = "128", description = "default: ${DEFAULT-VALUE}")
    int maxNewTokens;

    @Option(names = "--temperature", defaultValue = "1.0", description = "0 = greedy (default: ${DEFAULT-VALUE})")
    double temperature;

    @Option(names = "--top-p", defaultValue = "1.0", description = "default: ${DEFAULT-VALUE}")
    double topP;

    @Option(names = "--top-k", defaultValue = "0", description = "0 = off (default: ${DEFAULT-VALUE})")
    int topK;

    @Option(names = "--seed", defaultValue = "0", description = "default: ${DEFAULT-VALUE}")
    long seed;

    @Option(names = "--show-entropy", description = "Also print each generated token with its log-prob and entropy.")
    boolean showEntropy;

    @Override
    public Integer call() {
        if (maxNewTokens < 1) {
            throw new UserInputException("--max-new-tokens must be >= 1, got " + maxNewTokens);
        }
        SamplingParams params = new SamplingParams(temperature, topP, topK);
        try (PolicyModel model = Checkpoint.load(modelOptions.model, modelOptions.device());
             PolicyTokenizer tokenizer = PolicyTokenizer.load(modelOptions.model, model.config())) {
            model.limitVocabulary(tokenizer.vocabulary().size());
            long[] ids = tokenizer.encode(prompt);
            if (ids.length == 0) {
                throw new UserInputException("--prompt encodes to no tokens");
            }
            Generator generator = new Generator(model, params, tokenizer.eosIds(), 1);
            Generator.Completion c = generator.generate(List.of(new Generator.Request(0, ids, maxNewTokens, seed))).get(0);
            System.out.println(tokenizer.decodeForDisplay(c.tokens()));
            if (showEntropy) {
                System.out.println("position\ttoken\ttext\tlogprob\tentropy");
                for (int i = 0; i < c.tokens().length; i++) {
                    String text = tokenizer.decode(new long[]{c.tokens()[i]}).replace("\n", "\\n");
                    System.out.printf("%d\t%d\t%s\t%.4f\t%.4f%n", i, c.tokens()[i], text, c.logProbs()[i], c.entropies()[i]);
                }
            }
        }
        return 0;
    }
}
