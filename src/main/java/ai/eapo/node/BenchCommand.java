package ai.eapo.node;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code bench <what>}: benchmarks that print a table and write JSON to results/. */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Benchmarks (results go to results/).",
        subcommands = {BenchAllCommand.class, BenchDecodeCommand.class, BenchLearnerCommand.class, BenchPipelineCommand.class,
                BenchWeightsCommand.class, BenchMemoryCommand.class})
final class BenchCommand implements Runnable {
    @Override
    public void run() {
        CommandLine.usage(this, System.out);
    }
}
