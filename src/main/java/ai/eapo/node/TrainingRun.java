package ai.eapo.node;

import ai.eapo.actors.Learner;
import ai.eapo.actors.Pipeline;
import ai.eapo.algorithm.QuestionCurriculum;
import ai.eapo.model.Checkpoint;
import ai.eapo.model.SafeTensors;
import ai.eapo.model.WeightLayout;
import ai.eapo.model.NativeMemory;
import ai.eapo.report.MetricsLog;
import ai.eapo.report.MetricsPlots;
import ai.eapo.training.Knobs;
import ai.eapo.training.LearnerCheckpoints;
import ai.eapo.training.HeldOutEvaluation;
import ai.eapo.training.MemoryBudget;
import ai.eapo.training.StepMetrics;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigRenderOptions;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One run of {@code eapo-node train} on this node. On the learner's node it writes {@code results/<run-id>/}:
 * config.conf (the effective eapo configuration), metrics.jsonl (one line per learner step), learner
 * checkpoints in {@code checkpoints/} (every {@code eapo.train.checkpoint-every} steps), PNG plots,
 * summary.json (held-out accuracy before and after, busy shares) and the trained policy in
 * {@code checkpoint/} (HF layout, loadable by {@code generate}). Started again with the same run id, it
 * resumes from the newest complete learner checkpoint. A node without the learner role just serves the run.
 */
final class TrainingRun {

    private static final DateTimeFormatter RUN_ID_TIME = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SUMMARY = "summary.json";
    private static final String BEFORE = "heldout_accuracy_before";
    private static final String BEFORE_BY_LEVEL = "heldout_accuracy_by_level_before";
    /**
     * Training wall time summed over the invocations that finished: a run continued to a larger budget adds its
     * time to the shorter run's (an interrupted invocation writes no summary, so its time is not counted).
     */
    private static final String TRAIN_SECONDS = "train_seconds";

    private TrainingRun() {
    }

    /** What a finished run leaves for its caller: its directory (null on a node without the learner) and its budget. */
    record Finished(Path dir, MemoryBudget budget) {
    }

    static Finished run(Config config, String runIdFlag) throws Exception {
        try (PipelineRun run = new PipelineRun(config)) {
            System.out.printf("memory budget of this node: %s (%s)%n", MemoryBudget.gib(run.budget.total()),
                    "eapo-node bench memory measures it");
            if (run.cluster.has(Pipeline.Role.LEARNER)) {
                return new Finished(learn(run, config, runIdFlag), run.budget);
            } else {
                PipelineRun.Outcome outcome = run.run(0, Learner.Listener.NONE);
                System.out.printf("the run is over; this %s node served it for %.0f s%n", run.cluster.describeRoles(),
                        outcome.seconds());
                return new Finished(null, run.budget);
            }
        }
    }

    /** Trains on the learner's node; returns the run's directory. */
    private static Path learn(PipelineRun run, Config config, String runIdFlag) throws Exception {
        String runId = runIdFlag != null ? runIdFlag
                : LocalDateTime.now().format(RUN_ID_TIME) + (run.experience ? "-eapo" : "-grpo");
        Path dir = Path.of(config.getString("eapo.train.results-dir")).resolve(runId);
        Files.createDirectories(dir);
        LearnerCheckpoints checkpoints = new LearnerCheckpoints(dir, config.getInt("eapo.train.keep-checkpoints"));
        long firstStep = 0;
        if (checkpoints.latestStep().isPresent()) {
            firstStep = checkpoints.restore(run.policy, run.learner);
            System.out.printf("resuming run %s at step %d from %s (knobs %s)%n", runId, firstStep,
                    checkpoints.latest().orElseThrow(), run.learner.knobs().asMap());
            if (run.learner.hyper().strategies().curriculum().enabled()) {
                QuestionCurriculum curriculum = run.learner.curriculum();
                System.out.println(curriculum == null ? "the checkpoint holds no curriculum: every question starts unseen"
                        : String.format("curriculum resumed: %d of %d questions seen", curriculum.seen(),
                        curriculum.questions()));
            }
        }
        Files.writeString(dir.resolve("config.conf"), "eapo " + config.getConfig("eapo").root()
                .render(ConfigRenderOptions.defaults().setOriginComments(false).setJson(false)));
        Map<String, Object> summary = startSummary(dir, runId, run, firstStep);
        if (firstStep >= run.steps) {
            System.out.printf("run %s already trained all %d steps%n", runId, run.steps);
            return dir;
        }
        PipelineRun.Outcome outcome;
        try (MetricsLog log = new MetricsLog(dir.resolve("metrics.jsonl"), firstStep, dir);
             ProgressBar progress = new ProgressBarBuilder().setTaskName("train").setInitialMax(run.steps)
                     .setUnit(" steps", 1).build()) {
            progress.stepTo(firstStep);
            outcome = run.run(firstStep, new ProgressListener(log, progress, run, checkpoints,
                    config.getInt("eapo.train.eval-every"), config.getInt("eapo.train.checkpoint-every"),
                    config.getBytes(ConfigOptions.MAX_SHARD_BYTES)));
        }
        summary.merge(TRAIN_SECONDS, outcome.seconds(), (before, now) -> (double) before + (double) now);
        summary.put("busy_share", outcome.busyShares());
        if (!run.test.isEmpty()) {
            HeldOutEvaluation.Score after = run.heldOutScore();
            summary.put("heldout_accuracy_after", after.accuracy());
            summary.put("heldout_accuracy_by_level_after", after.byLevel());
            System.out.printf("held-out accuracy after:  %.3f (before %s)%n", summary.get("heldout_accuracy_after"),
                    summary.get(BEFORE));
        }
        Checkpoint.saveTrained(run.policy, dir.resolve("checkpoint"), run.modelDir,
                config.getBytes(ConfigOptions.MAX_SHARD_BYTES), SafeTensors.dtypeFor(run.policy.config().torchDtype()));
        List<Path> plots = MetricsPlots.write(dir.resolve("metrics.jsonl"), dir);
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve(SUMMARY).toFile(), summary);
        System.out.printf("busy share per actor: %s%n", outcome.busyShares());
        System.out.printf("wrote %s (metrics.jsonl, tb/, config.conf, summary.json, %d plots, checkpoints/, checkpoint/) "
                + "in %.0f s%n", dir, plots.size(), outcome.seconds());
        return dir;
    }

    /**
     * The summary's opening fields, written at once so a resumed run keeps the held-out accuracy measured
     * before the first step (a resumed run does not measure it again).
     */
    private static Map<String, Object> startSummary(Path dir, String runId, PipelineRun run, long firstStep)
            throws IOException {
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("run_id", runId);
        summary.put("method", run.experience ? "eapo" : "grpo");
        summary.put("steps", run.steps);
        Path file = dir.resolve(SUMMARY);
        if (firstStep > 0 && Files.exists(file)) {
            var previous = JSON.readTree(file.toFile());
            if (previous.path(BEFORE).isNumber()) {
                summary.put(BEFORE, previous.get(BEFORE).asDouble());
            }
            if (previous.path(BEFORE_BY_LEVEL).isObject()) {
                summary.put(BEFORE_BY_LEVEL, JSON.convertValue(previous.get(BEFORE_BY_LEVEL), Map.class));
            }
            if (previous.path(TRAIN_SECONDS).isNumber()) {
                summary.put(TRAIN_SECONDS, previous.get(TRAIN_SECONDS).asDouble());
            }
        } else if (!run.test.isEmpty()) {
            HeldOutEvaluation.Score before = run.heldOutScore();
            summary.put(BEFORE, before.accuracy());
            summary.put(BEFORE_BY_LEVEL, before.byLevel());
            System.out.printf("held-out accuracy before: %.3f (%d problems)%n", summary.get(BEFORE), run.test.size());
        }
        summary.put("resumed_at_step", firstStep);
        // What every weight version carries to the samplers: the trainable tensors, adapters only under LoRA.
        long versionBytes = WeightLayout.of(run.policy).totalBytes();
        summary.put("weight_version_bytes", versionBytes);
        System.out.printf("weight versions: %.2f MB each (%s)%n", versionBytes / 1e6,
                run.policy.lora() != null ? "LoRA adapters" : "whole weights");
        JSON.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), summary);
        return summary;
    }

    /**
     * Writes each step's metrics line, prints it, moves the progress bar, evaluates and saves learner
     * checkpoints when due (on the learner's thread, between its steps, so the weights hold still).
     */
    private static final class ProgressListener implements Learner.Listener {
        /** Clears the progress bar's line before a step line, on a terminal. */
        private static final String CLEAR_LINE = System.console() != null ? "\r\033[K" : "";

        private final MetricsLog log;
        private final ProgressBar progress;
        private final PipelineRun run;
        private final LearnerCheckpoints checkpoints;
        private final int evalEvery;
        private final int checkpointEvery;
        private final long maxShardBytes;
        private Map<String, String> knobChange;
        /** Why the last checkpoint could not be written, reported in the next step's metrics line. */
        private String checkpointFailure;

        ProgressListener(MetricsLog log, ProgressBar progress, PipelineRun run, LearnerCheckpoints checkpoints,
                         int evalEvery, int checkpointEvery, long maxShardBytes) {
            this.log = log;
            this.progress = progress;
            this.run = run;
            this.checkpoints = checkpoints;
            this.evalEvery = evalEvery;
            this.checkpointEvery = checkpointEvery;
            this.maxShardBytes = maxShardBytes;
        }

        @Override
        public void onStep(StepMetrics m) {
            Map<String, Object> extra = new LinkedHashMap<>();
            if (knobChange != null) {
                extra.put("knobs_changed", knobChange);
                knobChange = null;
            }
            if (checkpointFailure != null) {
                extra.put("checkpoint_failed", checkpointFailure);
                checkpointFailure = null;
            }
            long done = m.step() + 1;
            boolean evaluate = evalEvery > 0 && !run.test.isEmpty() && done % evalEvery == 0;
            if (evaluate) {
                HeldOutEvaluation.Score score = run.heldOutScore();
                extra.put("heldout_accuracy", score.accuracy());
                extra.put("heldout_accuracy_by_level", score.byLevel());
            }
            NativeMemory.residentBytes().ifPresent(b -> extra.put("resident_mb", Math.round(b / 1e6)));
            NativeMemory.peakResidentBytes().ifPresent(b -> extra.put("peak_resident_mb", Math.round(b / 1e6)));
            log.write(MetricsLog.line(m, extra));
            if (checkpointEvery > 0 && (done % checkpointEvery == 0 || done == run.steps)) {
                try {
                    checkpoints.save(done, run.policy, run.learner, run.modelDir, maxShardBytes);
                } catch (LearnerCheckpoints.NotWritten e) {
                    // Training goes on: a restart would resume from the last good checkpoint, intact beside it.
                    checkpointFailure = e.getMessage();
                    System.err.printf("%s%s; training goes on, a restart resumes from %s%n", CLEAR_LINE, e.getMessage(),
                            checkpoints.latest().map(Path::toString).orElse("the start"));
                }
            }
            System.out.printf("%sstep %d  reward %.3f  acc %.3f  ea-acc %.3f  resampled %.3f  alpha %.3f  tau %s  "
                            + "tok/s %.0f  staleness %.2f%s%s%n", CLEAR_LINE, done, m.rewardMean(), m.accuracy(),
                    m.eaAccuracy(), m.resampledRatio(), m.alpha(), m.tau(), m.tokensPerS(), m.stalenessMean(),
                    m.skipped() ? "  SKIPPED" : "",
                    evaluate ? String.format("  held-out %.3f", (Double) extra.get("heldout_accuracy")) : "");
            progress.step();
        }

        @Override
        public void onKnobsChanged(long effectiveStep, Knobs knobs) {
            knobChange = knobs.asMap();
            System.out.printf("%sknobs from step %d: %s%n", CLEAR_LINE, effectiveStep + 1, knobs.asMap());
        }

        @Override
        public void onFinished() {
        }
    }
}
