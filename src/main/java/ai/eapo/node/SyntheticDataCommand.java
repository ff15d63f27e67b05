package ai.eapo.node;

import ai.eapo.data.SyntheticMathTask;
import ai.eapo.data.TinyTokenizerFiles;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Writes the synthetic task's train/test splits and its tokenizer files. */
@Command(name = "synthetic-data", mixinStandardHelpOptions = true,
        description = "Write data/synthetic/{train,test}.jsonl and the tiny tokenizer (tokenizer.json, tokenizer_config.json).")
public final class SyntheticDataCommand implements Callable<Integer> {

    @Option(names = "--out", defaultValue = "data/synthetic", description = "output directory (default: ${DEFAULT-VALUE})")
    private Path out;

    @Option(names = "--tokenizer-out", defaultValue = "data/synthetic/tokenizer",
            description = "tokenizer directory (default: ${DEFAULT-VALUE})")
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
        SyntheticMathTask.writeSplits(out, trainSize, trainSeed, testSize, testSeed);
        TinyTokenizerFiles.write(tokenizerOut);
        System.out.printf("wrote %d train and %d test problems to %s, tokenizer to %s%n",
                trainSize, testSize, out, tokenizerOut);
        return 0;
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new SyntheticDataCommand()).execute(args));
    }
}
