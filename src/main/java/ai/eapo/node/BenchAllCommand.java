package ai.eapo.node;

import ai.eapo.UserInputException;
import ai.eapo.model.Checkpoint;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.File;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code bench all}: every benchmark, one after the other, each in a process of its own (so that one's memory
 * and threads never disturb the next's figures): decode and learner on the 18.9M shape and the Qwen2.5-0.5B shape,
 * the pipeline, weight transfer, the verifier and the memory of a short embedded run. Then
 * {@code bench-summary.md}: each ratio, its baseline measured in the same run, and its goal.
 */
@Command(name = "all", mixinStandardHelpOptions = true,
        description = "Run every benchmark and write results/bench-summary.md with each ratio and its goal.")
public final class BenchAllCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--out-dir", defaultValue = "results", description = "default: ${DEFAULT-VALUE}")
    Path outDir;

    @Option(names = "--large-shape", defaultValue = "../shared/shapes/qwen2.5-0.5b",
            description = "The real-size shape decode and the learner are also measured on; 'none' skips it "
                    + "(default: ${DEFAULT-VALUE}).")
    String largeShape;

    @Option(names = "--shared", defaultValue = "../shared", description = "The shared data (the verifier's mix; default: ${DEFAULT-VALUE}).")
    Path shared;

    /** The pipeline's goals (issue #19): asynchronous over strictly alternating, and EAPO's step over GRPO's. */
    static final double GOAL_ASYNC_OVER_ALTERNATING = 1.3;
    static final double GOAL_EAPO_OVER_GRPO_STEP = 1.1;
    /** Steps of the embedded run whose peak resident memory is measured (the full 60 are scripts/bench-memory.sh). */
    private static final int MEMORY_STEPS = 12;
    private static final String MEMORY_RUN = "bench-all-memory-run";
    /** What scripts/peers/bench-llama-cpp.sh writes. */
    private static final String PEER_FILE = "bench-peer-llama-cpp.json";

    private static final ObjectMapper JSON = new ObjectMapper();

    /** One line of the summary. */
    private record Row(String benchmark, String measured, String ratio, String goal, String met) {
    }

    @Override
    public Integer call() throws IOException, InterruptedException {
        PrintWriter console = spec != null ? spec.commandLine().getOut() : new PrintWriter(System.out, true);
        Files.createDirectories(outDir);
        boolean large = !largeShape.equals("none");
        if (large && !Files.isRegularFile(Path.of(largeShape, "config.json"))) {
            throw new UserInputException("--large-shape " + largeShape + " has no config.json (or say --large-shape none)");
        }
        List<Row> rows = new ArrayList<>();
        long start = System.nanoTime();

        Path decodeTiny = run(console, "decode-tiny", "bench", "decode", "--uncached-steps", "2");
        rows.addAll(decodeRows("decode, 18.9M", decodeTiny));
        rows.addAll(peerRows(decodeTiny, outDir.resolve(PEER_FILE)));
        if (large) {
            Path decodeLarge = run(console, "decode-0.5b", "bench", "decode", "--shape", largeShape,
                    "--batch-sizes", "1,64", "--new-tokens", "16", "--prompt-length", "16", "--uncached-steps", "1");
            rows.addAll(decodeRows("decode, Qwen2.5-0.5B shape", decodeLarge));
        }
        rows.add(learnerRow("learner, 18.9M", run(console, "learner-tiny", "bench", "learner")));
        if (large) {
            rows.add(learnerRow("learner, Qwen2.5-0.5B shape (4 sequences)", run(console, "learner-0.5b", "bench",
                    "learner", "--shape", largeShape, "--sequences", "4", "--steps", "2")));
        }
        rows.addAll(pipelineRows(run(console, "pipeline", "bench", "pipeline", "--steps", "8")));
        JsonNode weights = JSON.readTree(run(console, "weights", "bench", "weights").toFile());
        rows.add(new Row("weight transfer (" + weights.get("bytes").asLong() / 1_000_000 + " MB)",
                String.format(Locale.ROOT, "%.0f MB/s streamed", weights.get("streamed_mb_per_s").get("median").asDouble()),
                String.format(Locale.ROOT, "%.2f of a plain socket", weights.get("streamed_over_socket").asDouble()),
                "(none)", ""));
        Path verify = outDir.resolve("bench-verify.json");
        exec(console, "verify", List.of(java(), "-cp", jar(), "ai.eapo.verify.VerifierBenchmark", shared.toString(),
                verify.toString(), "3"));
        JsonNode v = JSON.readTree(verify.toFile());
        rows.add(new Row("verifier", String.format(Locale.ROOT, "%.0f checks/s, accuracy %.3f",
                v.get("verifier_checks_per_second").asDouble(), v.get("verifier_accuracy_on_mix").asDouble()),
                String.format(Locale.ROOT, "%.2f of the extract-and-compare baseline's speed",
                        v.get("speed_ratio_verifier_over_baseline").asDouble()), "(none)", ""));
        // A run directory left from before would be resumed, not measured: start afresh.
        if (Files.exists(outDir.resolve(MEMORY_RUN))) {
            Checkpoint.deleteTree(outDir.resolve(MEMORY_RUN));
        }
        JsonNode memory = JSON.readTree(run(console, "memory", "bench", "memory", "--run-id", MEMORY_RUN,
                "--set", "eapo.train.results-dir=" + outDir, "--label", "tiny demo, " + MEMORY_STEPS + " steps",
                "--set", "eapo.train.steps=" + MEMORY_STEPS, "--set", "eapo.train.eval-every=" + MEMORY_STEPS).toFile());
        rows.add(new Row("memory, embedded run (" + MEMORY_STEPS + " steps)", String.format(Locale.ROOT,
                "peak resident %.2f GiB", memory.get("peak_resident_gib").asDouble()), String.format(Locale.ROOT,
                "%.2f of the start-up budget", memory.get("peak_over_budget").asDouble()), "(none)", ""));

        Path summary = outDir.resolve("bench-summary.md");
        Files.writeString(summary, summary(rows, (System.nanoTime() - start) / 1e9));
        console.println("wrote " + summary);
        console.flush();
        return 0;
    }

    private List<Row> decodeRows(String name, Path file) throws IOException {
        JsonNode d = JSON.readTree(file.toFile());
        double matmul = d.get("matmul").get("gflops").asDouble();
        JsonNode floor = d.get("streamingFloor");
        List<Row> rows = new ArrayList<>();
        for (JsonNode r : d.get("results")) {
            int batch = r.get("batchSize").asInt();
            if (batch == 1) {
                double times = r.get("msPerStepOverStreamingFloor").asDouble();
                rows.add(new Row(name + ", batch 1", String.format(Locale.ROOT, "%.2f ms/step (%.0f tokens/s)",
                        r.get("cachedMsPerStep").asDouble(), r.get("cachedTokensPerSecond").asDouble()),
                        String.format(Locale.ROOT, "%.2f× the weight-streaming floor (%.2f ms: %.0f MB at %.1f GB/s)",
                                times, floor.get("passSeconds").asDouble() * 1e3, floor.get("bytes").asDouble() / 1e6,
                                floor.get("bandwidthBytesPerSecond").asDouble() / 1e9),
                        "≤ " + BenchDecodeCommand.GOAL_TIMES_STREAMING_FLOOR + "×",
                        met(times <= BenchDecodeCommand.GOAL_TIMES_STREAMING_FLOOR)));
            } else if (batch == 64) {
                double fraction = r.get("fractionOfMatmulGflops").asDouble();
                rows.add(new Row(name + ", batch 64", String.format(Locale.ROOT, "%.0f tokens/s, %.1f GFLOP/s "
                                + "(its projections alone: %.1f GFLOP/s, %.0f%% of the step)",
                        r.get("cachedTokensPerSecond").asDouble(), r.get("achievedGflops").asDouble(),
                        r.get("projectionsGflops").asDouble(), 100 * r.get("projectionsShareOfStep").asDouble()),
                        String.format(Locale.ROOT, "%.0f%% of the matmul (%.1f GFLOP/s)", 100 * fraction, matmul),
                        "≥ " + Math.round(100 * BenchDecodeCommand.GOAL_FRACTION_OF_MATMUL) + "%",
                        met(fraction >= BenchDecodeCommand.GOAL_FRACTION_OF_MATMUL)));
            }
        }
        return rows;
    }

    /**
     * eapo's decode beside llama.cpp's on the same shape, when scripts/peers/bench-llama-cpp.sh has written its
     * figures (building llama.cpp takes a source tree and about 10 minutes, so bench all does not do it).
     */
    private static List<Row> peerRows(Path decode, Path peer) throws IOException {
        if (!Files.isRegularFile(peer)) {
            return List.of(new Row("decode vs llama.cpp", "not measured: run scripts/peers/build-llama-cpp.sh and "
                    + "scripts/peers/bench-llama-cpp.sh first", "", "(none)", ""));
        }
        JsonNode p = JSON.readTree(peer.toFile());
        List<Row> rows = new ArrayList<>();
        for (JsonNode r : JSON.readTree(decode.toFile()).get("results")) {
            int batch = r.get("batchSize").asInt();
            double ours = r.get("cachedTokensPerSecond").asDouble();
            double theirs = batch == 1 ? p.get("batch1_tokens_per_s").asDouble()
                    : p.path("batched").path(Integer.toString(batch)).path("decode_tokens_per_s").asDouble(Double.NaN);
            rows.add(new Row("decode vs llama.cpp (F32, " + p.get("threads").asInt() + " threads), batch " + batch,
                    String.format(Locale.ROOT, "%.0f vs %.0f tokens/s", ours, theirs),
                    String.format(Locale.ROOT, "%.2f of llama.cpp", ours / theirs), "(none)", ""));
        }
        return rows;
    }

    private static Row learnerRow(String name, Path file) throws IOException {
        JsonNode l = JSON.readTree(file.toFile());
        double fraction = l.get("fractionOfMatmulGflops").asDouble();
        return new Row(name, String.format(Locale.ROOT, "%.0f tokens/s, %.1f GFLOP/s (%.2f s a step)",
                l.get("tokensPerSecond").asDouble(), l.get("achievedGflops").asDouble(),
                l.get("bestStepSeconds").asDouble()),
                String.format(Locale.ROOT, "%.0f%% of the matmul (%.1f GFLOP/s)", 100 * fraction,
                        l.get("matmulGflops").asDouble()),
                "≥ " + Math.round(100 * BenchLearnerCommand.GOAL_FRACTION_OF_MATMUL) + "%",
                met(fraction >= BenchLearnerCommand.GOAL_FRACTION_OF_MATMUL));
    }

    private static List<Row> pipelineRows(Path file) throws IOException {
        JsonNode p = JSON.readTree(file.toFile());
        double async = p.get("async").get("steps_per_s").asDouble();
        double alternating = p.get("alternating").get("steps_per_s").asDouble();
        double grpo = p.get("grpo").get("steps_per_s").asDouble();
        double asyncRatio = async / alternating;
        double eapoOverGrpo = grpo / async;
        return List.of(
                new Row("pipeline, asynchronous vs strictly alternating (EAPO)", String.format(Locale.ROOT,
                        "%.3f vs %.3f steps/s", async, alternating), String.format(Locale.ROOT, "%.2f×", asyncRatio),
                        "≥ " + GOAL_ASYNC_OVER_ALTERNATING + "×", met(asyncRatio >= GOAL_ASYNC_OVER_ALTERNATING)),
                new Row("pipeline, EAPO step vs GRPO step (asynchronous)", String.format(Locale.ROOT,
                        "%.1f vs %.1f s a step", 1 / async, 1 / grpo), String.format(Locale.ROOT, "%.2f×", eapoOverGrpo),
                        "≤ " + GOAL_EAPO_OVER_GRPO_STEP + "×", met(eapoOverGrpo <= GOAL_EAPO_OVER_GRPO_STEP)));
    }

    private static String met(boolean met) {
        return met ? "yes" : "**no**";
    }

    private static String summary(List<Row> rows, double seconds) {
        StringBuilder md = new StringBuilder();
        md.append("# Benchmarks (`eapo-node bench all`)\n\n");
        md.append(String.format(Locale.ROOT, "%s, %d cores, %.0f s in all. Every ratio's baseline was measured in "
                        + "the same run (the matmul: one 1024×1024 fp32 product; the weight-streaming floor: one batch-1 "
                        + "linear over each of the model's matmul weights in turn, as a decode step reads them). "
                        + "The JSON of each benchmark sits beside this file.%n%n", Instant.now(),
                Runtime.getRuntime().availableProcessors(), seconds));
        md.append("| benchmark | measured | ratio | goal | met |\n|---|---|---|---|---|\n");
        for (Row r : rows) {
            md.append("| ").append(r.benchmark()).append(" | ").append(r.measured()).append(" | ").append(r.ratio())
                    .append(" | ").append(r.goal()).append(" | ").append(r.met()).append(" |\n");
        }
        return md.toString();
    }

    /** Runs {@code eapo-node <args> --out <out-dir>/bench-<name>.json} in a process of its own; returns the JSON. */
    private Path run(PrintWriter console, String name, String... args) throws IOException, InterruptedException {
        Path json = outDir.resolve("bench-" + name + ".json");
        List<String> command = new ArrayList<>(List.of(java(), "-jar", jar()));
        command.addAll(List.of(args));
        command.addAll(List.of("--out", json.toString()));
        exec(console, name, command);
        return json;
    }

    private static void exec(PrintWriter console, String name, List<String> command)
            throws IOException, InterruptedException {
        console.printf("== %s: %s%n", name, String.join(" ", command));
        console.flush();
        Process process = new ProcessBuilder(command).inheritIO().start();
        int exit = process.waitFor();
        if (exit != 0) {
            throw new IllegalStateException("benchmark " + name + " failed (exit " + exit + "): " + String.join(" ", command));
        }
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** The jar this command runs from: every benchmark runs the same build. */
    private static String jar() {
        try {
            File file = new File(BenchAllCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            if (!file.isFile()) {
                throw new UserInputException("bench all runs from the built jar (java -jar target/eapo-node.jar bench all)");
            }
            return file.getPath();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
