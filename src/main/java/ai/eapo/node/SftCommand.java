package ai.eapo.node;

import ai.eapo.algorithm.HyperParameters;
import ai.eapo.data.ProblemSet;
import ai.eapo.algorithm.TrainingBatches;
import ai.eapo.model.Checkpoint;
import ai.eapo.model.PolicyModel;
import ai.eapo.model.PolicyTokenizer;
import ai.eapo.training.AdamW;
import ai.eapo.training.SynchronousTrainer;
import com.typesafe.config.Config;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.util.List;
import java.util.concurrent.Callable;

/** {@code sft --model DIR --steps N --out DIR}: supervised fine-tuning on the problems' solutions. */
@Command(name = "sft", mixinStandardHelpOptions = true,
        description = "Supervised fine-tuning on worked solutions; reports held-out accuracy; saves an HF checkpoint.")
final class SftCommand implements Callable<Integer> {

    @Mixin
    ModelOptions modelOptions;

    @Mixin
    TrainingOptions training;

    @Override
    public Integer call() throws Exception {
        Config config = training.config();
        HyperParameters hyper = HyperParameters.fromConfig(config);
        List<ProblemSet.Problem> data = ProblemSet.read(training.data);
        List<ProblemSet.Problem> test = training.heldOut();
        try (PolicyModel model = Checkpoint.load(modelOptions.model, modelOptions.device());
             PolicyTokenizer tokenizer = PolicyTokenizer.load(modelOptions.model, model.config())) {
            SynchronousTrainer trainer = new SynchronousTrainer(model, TrainingOptions.prompts(config, tokenizer), null,
                    withoutExperience(hyper), PipelineRun.answerChecker(config), training.loopOptions(config));
            long start = System.nanoTime();
            for (int step = 0; step < training.steps; step++) {
                AdamW.StepReport r = trainer.supervisedStep(TrainingBatches.of(data, step, training.promptsPerStep, training.seed));
                if ((step + 1) % training.evalEvery == 0 || step + 1 == training.steps) {
                    System.out.printf("step %d  loss %.4f  grad-norm %.3f  held-out accuracy %.3f  (%.0f s)%n", step + 1,
                            r.loss(), r.gradNorm(), trainer.accuracy(test), (System.nanoTime() - start) / 1e9);
                }
            }
            Checkpoint.save(model, training.out, modelOptions.model, Long.MAX_VALUE);
            System.out.println("saved " + training.out);
        }
        return 0;
    }

    /** SFT samples nothing from a prior: the experience schedule is switched off. */
    static HyperParameters withoutExperience(HyperParameters h) {
        return new HyperParameters(new ai.eapo.algorithm.ExperienceSchedule(0, 0, h.schedule().shape()),
                h.criticalPoints(), h.groupSize(), h.advantage(), h.loss(), h.optimizer(), h.strategies());
    }
}
