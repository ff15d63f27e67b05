package ai.eapo.node;

import ai.eapo.report.MetricsPlots;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code plot METRICS.jsonl [--out DIR]}: PNG charts of a run's metrics (reward and accuracy, resampled ratio and
 * alpha, entropy) against step, written beside the metrics file unless {@code --out} says otherwise.
 */
@Command(name = "plot", mixinStandardHelpOptions = true,
        description = "Plot a metrics.jsonl as PNGs: reward_accuracy.png, resampled_ratio.png, entropy.png.")
final class PlotCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "METRICS.jsonl", description = "metrics file written by training.")
    Path metrics;

    @Option(names = "--out", description = "Output directory (default: the metrics file's directory).")
    Path out;

    @Override
    public Integer call() {
        Path dir = out != null ? out : metrics.toAbsolutePath().getParent();
        List<Path> written = MetricsPlots.write(metrics, dir);
        PrintWriter stdout = spec.commandLine().getOut();
        written.forEach(stdout::println);
        stdout.flush();
        return 0;
    }
}
