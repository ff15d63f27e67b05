package ai.eapo.node;

import ai.eapo.algorithm.HyperParameters;
import ai.eapo.data.ProblemSet;
import ai.eapo.algorithm.TrainingBatches;
import ai.eapo.model.Checkpoint;
import ai.eapo.model.LocalPrior;
import ai.eapo.model.PolicyModel;
import ai.eapo.model.PolicyTokenizer;
import ai.eapo.model.TokenizerVocabulary;
import ai.eapo.report.MetricsLog;
import ai.eapo.report.TensorBoardEvents;
import ai.eapo.training.StepMetrics;
import ai.eapo.training.SynchronousTrainer;
import com.typesafe.config.Config;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code train-sync}: the synchronous GRPO / EAPO reference loop (no actors). With {@code --prior} and
 * {@code eapo.algorithm.experience.initial-ratio > 0} it is EAPO; otherwise plain GRPO.
 */
@Command(name = "train-sync", mixinStandardHelpOptions = true,
        description = "Synchronous GRPO/EAPO training (the reference loop); writes metrics.jsonl and a checkpoint.")
final class TrainSyncCommand implements Callable<Integer> {

    @Mixin
    ModelOptions modelOptions;

    @Mixin
    TrainingOptions training;

    @Option(names = "--prior", description = "Prior model directory (EAPO). Without it, α is forced to 0 (GRPO).")
    Path priorDir;

    @Option(names = "--metrics", description = "metrics.jsonl path (default: <out>-metrics.jsonl).")
    Path metrics;

    @Override
    public Integer call() throws Exception {
        Config config = training.config();
        HyperParameters hyper = HyperParameters.fromConfig(config);
        if (priorDir == null) {
            hyper = SftCommand.withoutExperience(hyper);
        }
        List<ProblemSet.Problem> data = ProblemSet.read(training.data);
        List<ProblemSet.Problem> test = training.heldOut();
        Path metricsFile = metrics != null ? metrics : training.out.resolveSibling(training.out.getFileName() + "-metrics.jsonl");
        // TensorBoard's events beside the metrics: NAME.jsonl -> NAME/tb/ (another name: NAME-run/tb/)
        String metricsName = metricsFile.getFileName().toString();
        Path tensorBoardRun = metricsFile.resolveSibling(metricsName.endsWith(".jsonl")
                ? metricsName.substring(0, metricsName.length() - ".jsonl".length()) : metricsName + "-run");
        SynchronousTrainer.Options loop = training.loopOptions(config);
        TokenizerVocabulary priorVocabulary = priorDir == null ? null : TokenizerVocabulary.read(priorDir);
        try (PolicyModel model = Checkpoint.load(modelOptions.model, modelOptions.device());
             PolicyTokenizer tokenizer = PolicyTokenizer.load(modelOptions.model, model.config());
             PolicyModel priorModel = priorDir == null ? null : loadPrior(tokenizer, priorVocabulary);
             LocalPrior prior = priorModel == null ? null : new LocalPrior(priorModel, loop.sampling())) {
            model.limitVocabulary(tokenizer.vocabulary().size());
            SynchronousTrainer trainer = new SynchronousTrainer(model, TrainingOptions.prompts(config, tokenizer), prior, hyper,
                    PipelineRun.answerChecker(config), loop);
            System.out.printf("step 0  held-out accuracy %.3f%n", trainer.accuracy(test));
            long start = System.nanoTime();
            try (MetricsLog log = new MetricsLog(metricsFile, 0, tensorBoardRun)) {
                for (int step = 0; step < training.steps; step++) {
                    StepMetrics m = trainer.step(step, TrainingBatches.of(data, step, training.promptsPerStep, training.seed));
                    boolean evaluate = (step + 1) % training.evalEvery == 0 || step + 1 == training.steps;
                    Map<String, Double> extra = evaluate ? Map.of("heldout_accuracy", trainer.accuracy(test)) : Map.of();
                    log.write(MetricsLog.line(m, extra));
                    System.out.printf("step %d  reward %.3f  ea-acc %.3f  resampled %.3f  alpha %.3f  loss %.4f%s  (%.0f s)%n",
                            step + 1, m.rewardMean(), m.eaAccuracy(), m.resampledRatio(), m.alpha(), m.loss(),
                            evaluate ? String.format("  held-out %.3f", extra.get("heldout_accuracy")) : "",
                            (System.nanoTime() - start) / 1e9);
                }
            }
            Checkpoint.save(model, training.out, modelOptions.model, Long.MAX_VALUE);
            System.out.println("saved " + training.out + ", metrics in " + metricsFile + " and "
                    + tensorBoardRun.resolve(TensorBoardEvents.DIRECTORY));
        }
        return 0;
    }

    /** The prior, refused before its weights are read when its tokenizer is not the policy's. */
    private PolicyModel loadPrior(PolicyTokenizer policyTokenizer, TokenizerVocabulary priorVocabulary) {
        policyTokenizer.vocabulary().requirePriorMatches(priorVocabulary);
        return Checkpoint.load(priorDir, modelOptions.device(), priorVocabulary);
    }
}
