package ai.eapo.node;

import ai.eapo.actors.Learner;
import ai.eapo.model.Checkpoint;
import ai.eapo.report.MetricsLog;
import ai.eapo.report.MetricsPlots;
import ai.eapo.training.Knobs;
import ai.eapo.training.StepMetrics;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigRenderOptions;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One run of {@code eapo-node train}: the {@link PipelineRun} with its reporting. Writes
 * {@code results/<run-id>/}: config.conf (the effective eapo configuration), metrics.jsonl (one line per
 * learner step), PNG plots, summary.json (held-out accuracy before and after, busy shares), and the trained
 * policy in {@code checkpoint/} (HF layout, loadable by {@code generate}).
 */
final class TrainingRun {

    private static final DateTimeFormatter RUN_ID_TIME = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss");

    private TrainingRun() {
    }

    static void run(Config config, String runIdFlag) throws Exception {
        try (PipelineRun run = new PipelineRun(config)) {
            String runId = runIdFlag != null ? runIdFlag
                    : LocalDateTime.now().format(RUN_ID_TIME) + (run.experience ? "-eapo" : "-grpo");
            Path dir = Path.of(config.getString("eapo.train.results-dir")).resolve(runId);
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("config.conf"), "eapo " + config.getConfig("eapo").root()
                    .render(ConfigRenderOptions.defaults().setOriginComments(false).setJson(false)));
            Map<String, Object> summary = new LinkedHashMap<>();
            summary.put("run_id", runId);
            summary.put("method", run.experience ? "eapo" : "grpo");
            summary.put("steps", run.steps);
            if (!run.test.isEmpty()) {
                summary.put("heldout_accuracy_before", run.heldOutAccuracy());
                System.out.printf("held-out accuracy before: %.3f (%d problems)%n",
                        summary.get("heldout_accuracy_before"), run.test.size());
            }
            PipelineRun.Outcome outcome;
            try (MetricsLog log = new MetricsLog(dir.resolve("metrics.jsonl"));
                 ProgressBar progress = new ProgressBarBuilder().setTaskName("train").setInitialMax(run.steps)
                         .setUnit(" steps", 1).build()) {
                outcome = run.train(new ProgressListener(log, progress, run, config.getInt("eapo.train.eval-every")));
            }
            summary.put("train_seconds", outcome.seconds());
            summary.put("busy_share", outcome.busyShares());
            if (!run.test.isEmpty()) {
                summary.put("heldout_accuracy_after", run.heldOutAccuracy());
                System.out.printf("held-out accuracy after:  %.3f (before %.3f)%n",
                        summary.get("heldout_accuracy_after"), summary.get("heldout_accuracy_before"));
            }
            Checkpoint.save(run.policy, dir.resolve("checkpoint"), run.modelDir,
                    config.getBytes("eapo.model.init.max-shard-bytes"));
            List<Path> plots = MetricsPlots.write(dir.resolve("metrics.jsonl"), dir);
            new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(dir.resolve("summary.json").toFile(), summary);
            System.out.printf("busy share per actor: %s%n", outcome.busyShares());
            System.out.printf("wrote %s (metrics.jsonl, config.conf, summary.json, %d plots, checkpoint/) in %.0f s%n",
                    dir, plots.size(), outcome.seconds());
        }
    }

    /** Writes each step's metrics line, prints it, and moves the progress bar (on the learner's thread). */
    private static final class ProgressListener implements Learner.Listener {
        /** Clears the progress bar's line before a step line, on a terminal. */
        private static final String CLEAR_LINE = System.console() != null ? "\r\033[K" : "";

        private final MetricsLog log;
        private final ProgressBar progress;
        private final PipelineRun run;
        private final int evalEvery;
        private Map<String, String> knobChange;

        ProgressListener(MetricsLog log, ProgressBar progress, PipelineRun run, int evalEvery) {
            this.log = log;
            this.progress = progress;
            this.run = run;
            this.evalEvery = evalEvery;
        }

        @Override
        public void onStep(StepMetrics m) {
            Map<String, Object> extra = new LinkedHashMap<>();
            if (knobChange != null) {
                extra.put("knobs_changed", knobChange);
                knobChange = null;
            }
            // Called on the learner's thread between its steps, so the weights hold still while evaluated.
            boolean evaluate = evalEvery > 0 && !run.test.isEmpty() && (m.step() + 1) % evalEvery == 0;
            if (evaluate) {
                extra.put("heldout_accuracy", run.heldOutAccuracy());
            }
            log.write(MetricsLog.line(m, extra));
            System.out.printf("%sstep %d  reward %.3f  acc %.3f  ea-acc %.3f  resampled %.3f  alpha %.3f  tau %s  "
                            + "tok/s %.0f  staleness %.2f%s%s%n", CLEAR_LINE, m.step() + 1, m.rewardMean(), m.accuracy(),
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
