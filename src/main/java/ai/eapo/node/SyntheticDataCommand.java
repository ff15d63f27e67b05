package ai.eapo.node;

import ai.eapo.data.CountdownTask;
import ai.eapo.data.SyntheticMathTask;
import ai.eapo.data.TinyTokenizerFiles;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Writes an embedded task's train/test splits and the tiny tokenizer's files. */
@Command(name = "synthetic-data", mixinStandardHelpOptions = true,
        description = "Write an embedded task's {train,test}.jsonl (data/synthetic, or data/countdown with --task countdown) "
                + "and the tiny tokenizer (tokenizer.json, tokenizer_config.json) in its tokenizer/ folder.")
public final class SyntheticDataCommand implements Callable<Integer> {

    @Option(names = "--task", defaultValue = "math",
            description = "math (the chain of additions) or countdown (default: ${DEFAULT-VALUE})")
    private String task;

    @Option(names = "--out", description = "output directory (default: data/synthetic, data/countdown for countdown)")
    private Path out;

    @Option(names = "--tokenizer-out", description = "tokenizer directory (default: OUT/tokenizer)")
    private Path tokenizerOut;

    @Option(names = "--train-size", defaultValue = "8000", description = "training problems (default: ${DEFAULT-VALUE})")
    private int trainSize;

    @Option(names = "--test-size", defaultValue = "400", description = "held-out problems (default: ${DEFAULT-VALUE})")
    private int testSize;

    @Option(names = "--train-seed", defaultValue = "1", description = "default: ${DEFAULT-VALUE}")
    private long trainSeed;

    @Option(names = "--test-seed", defaultValue = "2", description = "must differ from the train seed (default: ${DEFAULT-VALUE})")
    private long testSeed;

    @Override
    public Integer call() throws Exception {
        boolean countdown = switch (task) {
            case "math" -> false;
            case "countdown" -> true;
            default -> throw new ai.eapo.UserInputException("--task must be math or countdown, got \"" + task + "\"");
        };
        if (out == null) {
            out = Path.of(countdown ? "data/countdown" : "data/synthetic");
        }
        if (tokenizerOut == null) {
            tokenizerOut = out.resolve("tokenizer");
        }
        if (countdown) {
            CountdownTask.writeSplits(out, trainSize, trainSeed, testSize, testSeed);
        } else {
            SyntheticMathTask.writeSplits(out, trainSize, trainSeed, testSize, testSeed);
        }
        TinyTokenizerFiles.write(tokenizerOut);
        System.out.printf("wrote %d train and %d test problems to %s, tokenizer to %s%n",
                trainSize, testSize, out, tokenizerOut);
        return 0;
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new SyntheticDataCommand()).execute(args));
    }
}
