package ai.eapo.node;

import ai.eapo.UserInputException;
import ai.eapo.model.NativeMemory;
import com.typesafe.config.ConfigFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code eapo-node}: the one executable. Subcommands run the model ({@code logits}, {@code generate}),
 * grade answers ({@code verify}), make data ({@code synthetic-data}) and measure ({@code bench}).
 * Bad input ends with a one-line message naming the place and the value, and exit code 2.
 */
@Command(name = "eapo-node", mixinStandardHelpOptions = true, version = "eapo 0.1.0",
        description = "Experience Augmented Policy Optimization: RL post-training of language models.",
        subcommands = {LogitsCommand.class, GenerateCommand.class, VerifyCommand.class,
                SyntheticDataCommand.class, InitModelCommand.class, SftCommand.class, TrainSyncCommand.class, TrainCommand.class, CtlCommand.class, BenchCommand.class, EvalCommand.class,
                PlotCommand.class, ResultsCommand.class, MergeLoraCommand.class, ChaosCommand.class,
                CommandLine.HelpCommand.class})
public final class EapoNode implements Runnable {

    static final int EXIT_BAD_INPUT = 2;
    static final int EXIT_FAILURE = 1;

    public static void main(String[] args) {
        // Before any tensor exists: the allocator's arenas and thresholds hold for the rest of the process.
        NativeMemory.configure(NativeMemory.Allocator.fromConfig(ConfigFactory.load()));
        System.exit(commandLine().execute(nodeForm(args)));
    }

    /** {@code eapo-node --role R ...}, the form a cluster node is started with, is {@code eapo-node train --role R ...}. */
    static String[] nodeForm(String[] args) {
        if (args.length == 0 || !(args[0].equals("--role") || args[0].startsWith("--role="))) {
            return args;
        }
        String[] train = new String[args.length + 1];
        train[0] = "train";
        System.arraycopy(args, 0, train, 1, args.length);
        return train;
    }

    /** The command line with eapo's error handling: one line for bad input, a stack trace only with EAPO_DEBUG. */
    public static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new EapoNode());
        cli.setExecutionExceptionHandler((e, line, parsed) -> {
            if (e instanceof UserInputException) {
                line.getErr().println("error: " + e.getMessage());
                return EXIT_BAD_INPUT;
            }
            line.getErr().println("error: " + e.getClass().getSimpleName() + ": " + e.getMessage());
            if (System.getenv("EAPO_DEBUG") != null) {
                e.printStackTrace(line.getErr());
            }
            return EXIT_FAILURE;
        });
        return cli;
    }

    @Override
    public void run() {
        CommandLine.usage(this, System.out);
    }
}
