package ai.eapo.training;

import ai.djl.Device;
import ai.eapo.algorithm.HyperParameters;
import ai.eapo.data.ProblemSet;
import ai.eapo.model.LocalPrior;
import ai.eapo.model.ModelConfig;
import ai.eapo.model.PolicyModel;
import ai.eapo.model.PolicyTokenizer;
import ai.eapo.model.SamplingParams;
import ai.eapo.verify.MathVerifier;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The synchronous loop learns, and its EAPO bookkeeping is right. */
class SynchronousTrainerTest {

    static final Path TOKENIZER = Path.of("data/synthetic/tokenizer");
    static final SynchronousTrainer.Options OPTIONS =
            new SynchronousTrainer.Options(4, new SamplingParams(1.0, 1.0, 0), MicroBatching.ofResponses(64), 64, 1);

    static Config config(String overrides) {
        return ConfigFactory.parseString(overrides).withFallback(ConfigFactory.load());
    }

    static PolicyModel tinyModel(long seed) {
        return PolicyModel.random(ModelConfig.qwen2(100, 64, 128, 2, 4, 2, true, List.of(0)), Device.cpu(), seed, 0.02f);
    }

    /** "Say 7." with answer 7: a random policy rarely ends on the number 7, a learning one soon does. */
    static List<ProblemSet.Problem> sayNumber() {
        List<ProblemSet.Problem> out = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            out.add(new ProblemSet.Problem("Say 7.", "7", "7", "1"));
        }
        return out;
    }

    @Test
    void grpoRaisesTheRewardOfATaskARandomPolicyRarelySolves() {
        HyperParameters hyper = HyperParameters.fromConfig(config(
                "eapo.algorithm { experience.initial-ratio = 0, optimizer.lr = 3e-3, group-size = 8 }"));
        try (PolicyModel policy = tinyModel(3); PolicyTokenizer tokenizer = PolicyTokenizer.load(TOKENIZER, null)) {
            SynchronousTrainer trainer = new SynchronousTrainer(policy, new TaskPrompts(tokenizer, "{prompt}\n"), null,
                    hyper, new MathVerifier(), OPTIONS);
            double early = 0;
            double late = 0;
            for (int step = 0; step < 40; step++) {
                StepMetrics m = trainer.step(step, sayNumber());
                assertTrue(Double.isFinite(m.loss()));
                if (step < 5) {
                    early += m.rewardMean() / 5;
                }
                if (step >= 35) {
                    late += m.rewardMean() / 5;
                }
            }
            assertTrue(early < 0.2, "a random policy should rarely solve it: " + early);
            assertTrue(late > early + 0.4, "reward " + early + " -> " + late);
        }
    }

    @Test
    void aShortGrpoRunOnTheEmbeddedTaskRaisesHeldOutAccuracy() throws Exception {
        // The committed tiny base model: GRPO with the loop's defaults, measured on 200 held-out problems.
        Path base = Path.of("models/tiny-base");
        HyperParameters hyper = HyperParameters.fromConfig(config(
                "eapo.algorithm { experience.initial-ratio = 0, optimizer.lr = 1e-4 }"));
        List<ProblemSet.Problem> data = ProblemSet.read(Path.of("data/synthetic/train.jsonl"));
        List<ProblemSet.Problem> heldOut = ProblemSet.read(Path.of("data/synthetic/test.jsonl")).subList(0, 200);
        SynchronousTrainer.Options options = new SynchronousTrainer.Options(80, new SamplingParams(1.0, 1.0, 0), MicroBatching.ofResponses(32), 64, 0);
        try (PolicyModel policy = ai.eapo.model.Checkpoint.load(base, Device.cpu());
             PolicyTokenizer tokenizer = PolicyTokenizer.load(base, policy.config())) {
            SynchronousTrainer trainer = new SynchronousTrainer(policy, new TaskPrompts(tokenizer, "{prompt}\n"), null,
                    hyper, new MathVerifier(), options);
            double before = trainer.accuracy(heldOut);
            for (int step = 0; step < 20; step++) {
                trainer.step(step, ai.eapo.algorithm.TrainingBatches.of(data, step, 16, 0));
            }
            double after = trainer.accuracy(heldOut);
            assertTrue(after > before + 0.05, "held-out accuracy " + before + " -> " + after);
        }
    }

    @Test
    void experienceStepsRecordResampledTokensAndTheirAccuracy() {
        HyperParameters hyper = HyperParameters.fromConfig(config(
                "eapo.algorithm { experience { initial-ratio = 0.5, anneal-steps = 10, entropy-threshold = 0 } }"));
        try (PolicyModel policy = tinyModel(3); PolicyModel priorModel = tinyModel(4);
             LocalPrior prior = new LocalPrior(priorModel, OPTIONS.sampling());
             PolicyTokenizer tokenizer = PolicyTokenizer.load(TOKENIZER, null)) {
            SynchronousTrainer trainer = new SynchronousTrainer(policy, new TaskPrompts(tokenizer, "{prompt}\n"), prior,
                    hyper, new MathVerifier(), OPTIONS);
            StepMetrics first = trainer.step(0, sayNumber());
            assertEquals(0.5, first.alpha(), 1e-12);
            assertEquals(1.0, first.resampledRatio(), 1e-12, "τ = 0: every token of an EA response comes from the prior");
            assertTrue(Double.isFinite(first.eaAccuracy()));
            StepMetrics annealed = trainer.step(10, sayNumber());
            assertEquals(0.0, annealed.alpha(), 1e-12);
            assertEquals(0.0, annealed.resampledRatio(), 1e-12, "after T steps EAPO is plain GRPO");
            assertEquals(0, prior.cachedSequences());
        }
    }
}
