package ai.eapo.node;

import ai.eapo.actors.Learner;
import ai.eapo.training.Knobs;
import ai.eapo.training.StepMetrics;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code bench pipeline}: the same training run three times from the same base: strictly alternating
 * (max-staleness 0: samplers wait for every update), asynchronous (max-staleness as given), and asynchronous
 * plain GRPO (no prior); the throughput gain of overlapping sampling with learning, and EAPO's cost over GRPO
 * per full training step (generation, prior consultations, verification, update), with each actor kind's
 * busy share.
 */
@Command(name = "pipeline", mixinStandardHelpOptions = true,
        description = "Throughput of the actor pipeline: asynchronous vs strictly alternating, and EAPO vs GRPO, "
                + "same run; writes results/bench-pipeline.json.")
final class BenchPipelineCommand implements Callable<Integer> {

    @Mixin
    TrainCommand train;

    @Option(names = "--async-staleness", defaultValue = "1", description = "max-staleness of the asynchronous run (default: ${DEFAULT-VALUE}).")
    int asyncStaleness;

    @Option(names = "--out", defaultValue = "results/bench-pipeline.json", description = "default: ${DEFAULT-VALUE}")
    Path out;

    @Override
    public Integer call() throws Exception {
        Config base = train.config();
        Map<String, Object> results = new LinkedHashMap<>();
        Map<String, Object> alternating = measure(base, 0, Map.of());
        Map<String, Object> overlapped = measure(base, asyncStaleness, Map.of());
        Map<String, Object> grpo = measure(base, asyncStaleness, Map.of("eapo.algorithm.experience.initial-ratio", 0));
        results.put("alternating", alternating);
        results.put("async", overlapped);
        results.put("grpo", grpo);
        double gain = (double) overlapped.get("generated_tokens_per_s") / (double) alternating.get("generated_tokens_per_s");
        results.put("async_over_alternating", gain);
        // EAPO's overhead: wall time of a full step relative to GRPO's, same base, data and seeds.
        double overhead = (double) grpo.get("steps_per_s") / (double) overlapped.get("steps_per_s");
        results.put("eapo_step_time_over_grpo", overhead);
        Files.createDirectories(out.toAbsolutePath().getParent());
        new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(out.toFile(), results);
        System.out.printf("%-12s %8s %12s %10s  %s%n", "schedule", "seconds", "tokens/s", "steps/s", "busy share");
        for (String name : new String[]{"alternating", "async", "grpo"}) {
            @SuppressWarnings("unchecked")
            Map<String, Object> r = (Map<String, Object>) results.get(name);
            System.out.printf("%-12s %8.1f %12.0f %10.3f  %s%n", name, r.get("seconds"), r.get("generated_tokens_per_s"),
                    r.get("steps_per_s"), r.get("busy_share"));
        }
        System.out.printf("async / alternating throughput: %.2fx; EAPO step time / GRPO step time: %.2fx  (written to %s)%n",
                gain, overhead, out);
        return 0;
    }

    private static Map<String, Object> measure(Config base, int maxStaleness, Map<String, Object> overrides)
            throws Exception {
        Map<String, Object> settings = new LinkedHashMap<>(overrides);
        settings.put("eapo.pipeline.max-staleness", maxStaleness);
        settings.put("eapo.train.eval-size", 0);
        Config config = ConfigFactory.parseMap(settings).withFallback(base);
        AtomicLong tokens = new AtomicLong();
        PipelineRun.Outcome outcome;
        long steps;
        boolean experience;
        try (PipelineRun run = new PipelineRun(config)) {
            steps = run.steps;
            experience = run.experience;
            outcome = run.run(0, new Learner.Listener() {
                @Override
                public void onStep(StepMetrics metrics) {
                    tokens.addAndGet(metrics.tokens());
                    System.out.printf("  max-staleness %d: step %d  staleness %.2f%n", maxStaleness, metrics.step() + 1,
                            metrics.stalenessMean());
                }

                @Override
                public void onKnobsChanged(long effectiveStep, Knobs knobs) {
                }

                @Override
                public void onFinished() {
                }
            });
        }
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("max_staleness", maxStaleness);
        r.put("method", experience ? "eapo" : "grpo");
        r.put("steps", steps);
        r.put("seconds", outcome.seconds());
        r.put("generated_tokens", tokens.get());
        r.put("generated_tokens_per_s", tokens.get() / outcome.seconds());
        r.put("steps_per_s", steps / outcome.seconds());
        r.put("busy_share", outcome.busyShares());
        return r;
    }
}
