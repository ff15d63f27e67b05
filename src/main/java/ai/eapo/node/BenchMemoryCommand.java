package ai.eapo.node;

import ai.eapo.model.Checkpoint;
import ai.eapo.model.NativeMemory;
import ai.eapo.training.MemoryBudget;
import ai.eapo.training.MemoryLimit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * {@code bench memory}: a bounded {@code train} in this process with its resident memory sampled throughout,
 * against the configuration's analytic budget ({@link MemoryBudget}): the peak (the kernel's high-water mark),
 * resident memory after each learner step and each held-out evaluation, the Java heap, seconds per learner
 * step, and the ratio peak / budget. Writes {@code results/bench-memory.json} (or {@code --out}).
 */
@Command(name = "memory", mixinStandardHelpOptions = true,
        description = "Resident memory of a bounded train run against the configuration's analytic budget; "
                + "writes results/bench-memory.json.")
final class BenchMemoryCommand implements Callable<Integer> {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Mixin
    TrainCommand train;

    @Option(names = "--out", defaultValue = "results/bench-memory.json", description = "default: ${DEFAULT-VALUE}")
    Path out;

    @Option(names = "--sample-ms", defaultValue = "200", description = "Resident memory sampling period (default: ${DEFAULT-VALUE}).")
    long sampleMs;

    @Option(names = "--label", description = "A name for this measurement in the JSON (default: the model directory).")
    String label;

    @Option(names = "--budget-only", description = "Print this node's analytic budget (its roles as configured, e.g. "
            + "--set eapo.node.roles=[sampler]) and whether it fits eapo.memory.limit; load and run nothing.")
    boolean budgetOnly;

    /** One sample of the process: seconds since the start, resident bytes, Java heap in use. */
    private record Sample(double seconds, long resident, long heap) {
    }

    @Override
    public Integer call() throws Exception {
        Config config = train.config();
        if (budgetOnly) {
            MemoryBudget budget = PipelineRun.budgetOf(config);
            MemoryLimit limit = MemoryLimit.fromConfig(config, Checkpoint.device(config.getString("eapo.device")));
            System.out.printf("memory budget of a node with roles %s:%n%s",
                    String.join(",", config.getStringList("eapo.node.roles")), budget.render());
            System.out.printf("%s (%s on the device) %s %s = %s%n", MemoryBudget.gib(budget.total()),
                    MemoryBudget.gib(budget.deviceTotal()), limit.fits(budget) ? "fits" : "does NOT fit", limit.source(),
                    MemoryBudget.gib(limit.bytes()));
            return 0;
        }
        if (train.runId == null) {
            train.runId = "bench-memory-" + System.currentTimeMillis();
        }
        List<Sample> samples = java.util.Collections.synchronizedList(new ArrayList<>());
        long start = System.nanoTime();
        Runtime runtime = Runtime.getRuntime();
        ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "memory-sampler");
            t.setDaemon(true);
            return t;
        });
        sampler.scheduleAtFixedRate(() -> samples.add(new Sample((System.nanoTime() - start) / 1e9,
                NativeMemory.residentBytes().orElse(0), runtime.totalMemory() - runtime.freeMemory())),
                0, sampleMs, TimeUnit.MILLISECONDS);
        TrainingRun.Finished finished;
        try {
            finished = TrainingRun.run(config, train.runId);
        } finally {
            sampler.shutdownNow();
        }
        long peak = NativeMemory.peakResidentBytes().orElse(0);
        ObjectNode report = report(config, finished, peak, new ArrayList<>(samples));
        Files.createDirectories(out.toAbsolutePath().getParent());
        JSON.writerWithDefaultPrettyPrinter().writeValue(out.toFile(), report);
        System.out.printf("memory budget:%n%s", finished.budget().render());
        System.out.printf(Locale.ROOT, "peak resident %s, budget %s: ratio %.2f; steady %s; %.1f s per learner step "
                        + "(written to %s)%n", MemoryBudget.gib(peak), MemoryBudget.gib(finished.budget().total()),
                report.get("peak_over_budget").asDouble(), report.path("resident_after_last_step_gib").asText("-") + " GiB",
                report.path("seconds_per_learner_step").asDouble(Double.NaN), out);
        return 0;
    }

    private ObjectNode report(Config config, TrainingRun.Finished finished, long peak, List<Sample> samples)
            throws IOException {
        ObjectNode r = JSON.createObjectNode();
        r.put("label", label != null ? label : config.getString("eapo.train.model"));
        r.put("model", config.getString("eapo.train.model"));
        r.put("prior", config.getDouble("eapo.algorithm.experience.initial-ratio") > 0
                ? config.getString("eapo.train.prior") : null);
        r.put("roles", String.join(",", config.getStringList("eapo.node.roles")));
        ObjectNode settings = r.putObject("settings");
        settings.put("steps", config.getLong("eapo.train.steps"));
        settings.put("questions_per_step", config.getInt("eapo.train.questions-per-step"));
        settings.put("group_size", config.getInt("eapo.algorithm.group-size"));
        settings.put("max_new_tokens", config.getInt("eapo.rollout.max-new-tokens"));
        settings.put("decode_batch_size", config.getInt("eapo.rollout.decode-batch-size"));
        settings.put("micro_batch_size", config.getInt("eapo.rollout.micro-batch-size"));
        settings.put("learner_micro_batch_tokens", config.getLong("eapo.memory.learner-micro-batch-tokens"));
        settings.put("logits_chunk_positions", config.getInt("eapo.memory.logits-chunk-positions"));
        settings.put("eval_size", config.getInt("eapo.train.eval-size"));
        settings.put("eval_every", config.getInt("eapo.train.eval-every"));
        settings.put("allocator", config.getConfig("eapo.memory.allocator").root().unwrapped().toString());
        ArrayNode items = r.putArray("budget");
        for (MemoryBudget.Item item : finished.budget().items()) {
            items.addObject().put("role", item.role()).put("what", item.what()).put("bytes", item.bytes());
        }
        long budget = finished.budget().total();
        r.put("budget_bytes", budget);
        r.put("budget_gib", round(budget / (double) (1L << 30)));
        r.put("peak_resident_bytes", peak);
        r.put("peak_resident_gib", round(peak / (double) (1L << 30)));
        r.put("peak_over_budget", round(peak / (double) budget));
        r.put("heap_used_max_bytes", samples.stream().mapToLong(Sample::heap).max().orElse(0));
        r.put("java_heap_limit_bytes", Runtime.getRuntime().maxMemory());
        if (finished.dir() != null) {
            perStep(r, finished.dir().resolve("metrics.jsonl"));
        }
        ArrayNode series = r.putArray("resident_samples");
        int every = Math.max(1, samples.size() / 400);
        for (int i = 0; i < samples.size(); i += every) {
            Sample s = samples.get(i);
            series.addArray().add(round(s.seconds())).add(s.resident()).add(s.heap());
        }
        return r;
    }

    /** Resident memory after each learner step and each held-out evaluation, and seconds per step, from metrics.jsonl. */
    private static void perStep(ObjectNode r, Path metrics) throws IOException {
        ArrayNode steps = r.putArray("per_step");
        ArrayNode evaluations = r.putArray("after_evaluation");
        double seconds = 0;
        int counted = 0;
        long last = -1;
        for (String line : Files.readAllLines(metrics)) {
            JsonNode m = JSON.readTree(line);
            long resident = m.path("resident_mb").asLong(-1);
            steps.addObject().put("step", m.path("step").asLong()).put("resident_mb", resident);
            if (m.has("heldout_accuracy")) {
                evaluations.addObject().put("step", m.path("step").asLong()).put("resident_mb", resident);
            }
            double tokensPerS = m.path("tokens_per_s").asDouble(0);
            if (m.path("step").asLong() > 0 && tokensPerS > 0) { // step 0 includes start-up
                seconds += m.path("tokens").asDouble() / tokensPerS;
                counted++;
            }
            last = resident;
        }
        if (counted > 0) {
            r.put("seconds_per_learner_step", round(seconds / counted));
        }
        if (last >= 0) {
            r.put("resident_after_last_step_gib", round(last * 1e6 / (1L << 30)));
        }
    }

    private static double round(double x) {
        return Math.round(x * 1000) / 1000.0;
    }
}
