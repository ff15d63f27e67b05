package ai.eapo.node;

import ai.eapo.report.ResultsTable;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code results --dir DIR [--figure NAME=a,b,...]... [--speed bench-pipeline.json]}: the results table of the
 * finished training runs {@code SETTING-sSEED} under DIR, as summary.md, summary.json and PNG charts per figure.
 */
@Command(name = "results", mixinStandardHelpOptions = true,
        description = "Summarise finished runs DIR/SETTING-sSEED over seeds: summary.md, summary.json, PNG charts.")
final class ResultsCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--dir", required = true, description = "Directory holding the run directories SETTING-sSEED.")
    Path dir;

    @Option(names = "--figure", paramLabel = "NAME=a,b",
            description = "A figure comparing the given settings (repeatable; default: one table of every setting).")
    List<String> figures = new ArrayList<>();

    @Option(names = "--speed", description = "A `bench pipeline` result to quote in the Speed section.")
    Path speed;

    @Option(names = "--difference", paramLabel = "NAME=a,b",
            description = "A section of a minus b in held-out accuracy, paired by seed, at equal steps and at equal "
                    + "generated tokens, with 95% intervals (repeatable).")
    List<String> differences = new ArrayList<>();

    @Override
    public Integer call() {
        List<Path> written = ResultsTable.write(dir, figures.stream().map(ResultsTable.Figure::parse).toList(),
                differences.stream().map(ResultsTable.Difference::parse).toList(), speed);
        PrintWriter stdout = spec.commandLine().getOut();
        written.forEach(stdout::println);
        stdout.flush();
        return 0;
    }
}
