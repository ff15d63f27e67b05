package ai.eapo.actors;

import ai.eapo.training.MicroBatching;
import ai.djl.Device;
import ai.eapo.algorithm.HyperParameters;
import ai.eapo.data.ProblemSet;
import ai.eapo.algorithm.TrainingBatches;
import ai.eapo.model.Checkpoint;
import ai.eapo.model.LocalPrior;
import ai.eapo.model.PolicyModel;
import ai.eapo.model.PolicyTokenizer;
import ai.eapo.model.SamplingParams;
import ai.eapo.training.Knobs;
import ai.eapo.training.LearnerStep;
import ai.eapo.training.StepMetrics;
import ai.eapo.training.SynchronousTrainer;
import ai.eapo.training.TaskPrompts;
import ai.eapo.verify.MathVerifier;

import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The whole pipeline on the embedded tiny models. */
class PipelineTest {

    static final Path BASE = Path.of("models/tiny-base");
    static final Path PRIOR = Path.of("models/tiny-prior");
    static final SamplingParams SAMPLING = new SamplingParams(1, 1, 0);
    static final int MAX_NEW = 80;
    static final int DECODE_BATCH = 64;
    static final MicroBatching MICRO_BATCH = MicroBatching.ofResponses(32);
    static final long SEED = 11;
    static final List<ProblemSet.Problem> DATA = ProblemSet.read(Path.of("data/synthetic/train.jsonl"));

    /** Records what the learner reports. */
    static class Recorder implements Learner.Listener {
        final BlockingQueue<StepMetrics> steps = new LinkedBlockingQueue<>();
        final List<StepMetrics> all = new ArrayList<>();
        final CountDownLatch finished = new CountDownLatch(1);

        @Override
        public synchronized void onStep(StepMetrics metrics) {
            all.add(metrics);
            steps.add(metrics);
        }

        @Override
        public void onKnobsChanged(long effectiveStep, Knobs knobs) {
        }

        @Override
        public void onFinished() {
            finished.countDown();
        }

        void awaitFinished() throws InterruptedException {
            assertTrue(finished.await(10, TimeUnit.MINUTES), "the run did not finish; steps so far: " + all.size());
        }
    }

    /** A run of the pipeline in its own actor system; closes its replicas. */
    static final class Run implements AutoCloseable {
        final ActorTestKit kit = ActorTestKit.create(SamplerTest.testConfig());
        final List<PolicyModel> replicas = new ArrayList<>();
        final TestProbe<Learner.Command> learnerInbox = kit.createTestProbe();
        Pipeline.Refs refs;

        Pipeline.Refs start(PolicyModel policy, LearnerStep learner, LocalPrior prior, TaskPrompts prompts,
                            int samplers, int questionsPerStep, long steps, Recorder recorder) {
            return start(policy, learner, prior, prompts, samplers, questionsPerStep, steps, recorder, SAMPLING);
        }

        Pipeline.Refs start(PolicyModel policy, LearnerStep learner, LocalPrior prior, TaskPrompts prompts,
                            int samplers, int questionsPerStep, long steps, Recorder recorder, SamplingParams sampling) {
            for (int i = 0; i < samplers; i++) {
                replicas.add(policy.replica());
            }
            HyperParameters hyper = learner.hyper();
            Pipeline.Setup setup = new Pipeline.Setup(Set.of(Pipeline.Role.values()),
                    Optional.of(new Pipeline.LearnerPart(policy, learner, 0, steps, DATA, questionsPerStep, SEED, sampling,
                            null, MAX_NEW, recorder)),
                    Optional.of(new Pipeline.SamplerPart(replicas, prompts, new Sampler.Settings(hyper.groupSize(),
                            MAX_NEW, sampling, DECODE_BATCH, 2 * DECODE_BATCH, SEED, Duration.ofSeconds(30), null),
                            hyper.usesExperience())),
                    Optional.ofNullable(prior).map(p -> new Pipeline.PriorPart(p, prompts.tokenizer().vocabulary(),
                            sampling)),
                    Optional.of(new Pipeline.VerifierPart(new MathVerifier(), 2)), new PipelineActivity());
            refs = Pipeline.start(setup, new Pipeline.Spawner() {
                @Override
                @SuppressWarnings("unchecked")
                public <T> ActorRef<T> spawn(Behavior<T> behavior, String name, Props props) {
                    if (name.equals("learner")) {
                        // Every message to the learner is copied to the probe, to see the batches it trains on.
                        behavior = (Behavior<T>) Behaviors.monitor(Learner.Command.class, learnerInbox.ref(),
                                (Behavior<Learner.Command>) behavior);
                    }
                    return kit.spawn(behavior, name, props);
                }
            });
            return refs;
        }

        @Override
        public void close() {
            kit.shutdownTestKit();
            replicas.forEach(PolicyModel::close);
        }
    }

    static HyperParameters hyper(String overrides) {
        return SamplerTest.hyper("eapo.algorithm { optimizer.lr = 5e-4 }, " + overrides);
    }

    /** Also at a temperature ≠ 1 with top-p: the behaviour log-probs and kept masses agree too. */
    @ParameterizedTest
    @CsvSource({"1.0, 1.0", "0.8, 0.9"})
    void withOneSamplerAndNoStalenessThePipelineReproducesTheSynchronousLoop(double temperature, double topP)
            throws Exception {
        SamplingParams sampling = new SamplingParams(temperature, topP, 0);
        HyperParameters hyper = hyper("eapo.algorithm.experience { initial-ratio = 0.5, entropy-threshold = 0.5 }");
        int steps = 3;
        int questions = 4;
        List<StepMetrics> reference = new ArrayList<>();
        try (PolicyModel policy = Checkpoint.load(BASE, Device.cpu()); PolicyModel priorModel = Checkpoint.load(PRIOR, Device.cpu());
             LocalPrior prior = new LocalPrior(priorModel, sampling); PolicyTokenizer tokenizer = PolicyTokenizer.load(BASE, policy.config())) {
            SynchronousTrainer trainer = new SynchronousTrainer(policy, new TaskPrompts(tokenizer, "{prompt}\n"), prior, hyper,
                    new MathVerifier(), new SynchronousTrainer.Options(MAX_NEW, sampling, MICRO_BATCH, DECODE_BATCH, SEED));
            for (int step = 0; step < steps; step++) {
                reference.add(trainer.step(step, TrainingBatches.of(DATA, step, questions, SEED)));
            }
        }
        Recorder recorder = new Recorder();
        try (PolicyModel policy = Checkpoint.load(BASE, Device.cpu()); PolicyModel priorModel = Checkpoint.load(PRIOR, Device.cpu());
             LocalPrior prior = new LocalPrior(priorModel, sampling); PolicyTokenizer tokenizer = PolicyTokenizer.load(BASE, policy.config());
             LearnerStep learner = new LearnerStep(policy, hyper, Knobs.initial(hyper, 0), MICRO_BATCH,
                     sampling.logProbTemperature());
             Run run = new Run()) {
            run.start(policy, learner, prior, new TaskPrompts(tokenizer, "{prompt}\n"), 1, questions, steps, recorder,
                    sampling);
            recorder.awaitFinished();
        }
        double rewardSpread = 0;
        for (int step = 0; step < steps; step++) {
            StepMetrics sync = reference.get(step);
            StepMetrics actors = recorder.all.get(step);
            assertEquals(sync.rewardMean(), actors.rewardMean(), 1e-12, "reward at step " + step);
            assertEquals(sync.resampledRatio(), actors.resampledRatio(), 1e-12, "resampled ratio at step " + step);
            assertEquals(sync.tokens(), actors.tokens(), "tokens at step " + step);
            assertEquals(sync.loss(), actors.loss(), 1e-4, "loss at step " + step);
            assertEquals(sync.keptMassMean(), actors.keptMassMean(), 1e-6, "kept mass at step " + step);
            assertEquals(sync.isWeightMean(), actors.isWeightMean(), 1e-4, "IS weight at step " + step);
            assertTrue(topP < 1 ? actors.keptMassMean() < 1 : actors.keptMassMean() == 1, "kept mass "
                    + actors.keptMassMean());
            assertEquals(0.0, actors.stalenessMean(), 1e-12, "max-staleness 0 samples on the current version only");
            assertTrue(actors.mismatchKl() < 1e-6 && Math.abs(actors.mismatchMaxRatio() - 1) < 1e-2,
                    "fp32 samplers compute what the learner does: k3 " + actors.mismatchKl() + ", largest ratio "
                            + actors.mismatchMaxRatio());
            rewardSpread += Math.abs(sync.loss());
        }
        assertTrue(rewardSpread > 0, "the comparison should involve non-zero losses");
    }

    @Test
    void aShortEapoRunCompletesAndTheResampledRatioRespondsToATauChange() throws Exception {
        HyperParameters hyper = hyper("eapo.algorithm.experience { initial-ratio = 0.5, entropy-threshold = 0.3 }");
        Recorder recorder = new Recorder();
        int steps = 7;
        try (PolicyModel policy = Checkpoint.load(BASE, Device.cpu()); PolicyModel priorModel = Checkpoint.load(PRIOR, Device.cpu());
             LocalPrior prior = new LocalPrior(priorModel, SAMPLING); PolicyTokenizer tokenizer = PolicyTokenizer.load(BASE, policy.config());
             LearnerStep learner = new LearnerStep(policy, hyper, Knobs.initial(hyper, 1), MICRO_BATCH, 1f);
             Run run = new Run()) {
            Pipeline.Refs refs = run.start(policy, learner, prior, new TaskPrompts(tokenizer, "{prompt}\n"), 1, 4, steps, recorder);
            for (int i = 0; i < 2; i++) {
                assertTrue(recorder.steps.poll(5, TimeUnit.MINUTES) != null, "step " + i);
            }
            TestProbe<Learner.KnobsReply> reply = run.kit.createTestProbe();
            refs.learner().tell(new Learner.SetKnobs(Map.of("tau", "inf"), reply.ref()));
            Learner.KnobsReply accepted = reply.receiveMessage(Duration.ofMinutes(1));
            assertNull(accepted.refusal());
            recorder.awaitFinished();
            assertEquals(0, prior.cachedSequences(), "the prior freed every finished sequence's cache");
        }
        List<StepMetrics> all = recorder.all;
        assertEquals(steps, all.size());
        assertTrue(all.get(0).resampledRatio() > 0, "τ = 0.3 consults the prior: " + all.get(0).resampledRatio());
        long changedAt = -1;
        for (StepMetrics m : all) {
            assertTrue(Double.isFinite(m.loss()) && !m.skipped(), "step " + m.step());
            if (changedAt < 0 && Double.isInfinite(m.tau())) {
                changedAt = m.step();
            }
        }
        assertTrue(changedAt >= 2, "τ changed from a step after the request: " + changedAt);
        // Steps whose questions all started after the change (max-staleness 1) consult nothing.
        for (long s = changedAt + 2; s < steps; s++) {
            assertEquals(0.0, all.get((int) s).resampledRatio(), "step " + s);
        }
        assertTrue(changedAt + 2 < steps, "the run should have steps after the change took full effect");
    }

    @Test
    void samplingWhileTheLearnerTrainsNeverCorruptsAStep() throws Exception {
        // Sampling allocates while the learner is between its forward and backward passes: when the backward
        // read constants the collector had freed (see Constants), most such steps had NaN gradients.
        HyperParameters hyper = hyper("eapo.algorithm.experience.initial-ratio = 0");
        Recorder recorder = new Recorder();
        try (PolicyModel policy = Checkpoint.load(BASE, Device.cpu()); PolicyTokenizer tokenizer = PolicyTokenizer.load(BASE, policy.config());
             LearnerStep learner = new LearnerStep(policy, hyper, Knobs.initial(hyper, 1), MICRO_BATCH, 1f);
             Run run = new Run()) {
            run.start(policy, learner, null, new TaskPrompts(tokenizer, "{prompt}\n"), 1, 16, 6, recorder);
            recorder.awaitFinished();
        }
        for (StepMetrics m : recorder.all) {
            assertTrue(!m.skipped() && Double.isFinite(m.gradNorm()), "step " + m.step() + " was skipped");
        }
        assertTrue(recorder.all.stream().anyMatch(m -> m.stalenessMean() > 0), "sampling should have overlapped learning");
    }

    @Test
    void theLearnersMemoryIsFlatOverManySteps() throws Exception {
        HyperParameters hyper = hyper("eapo.algorithm.experience.initial-ratio = 0");
        List<Integer> arrays = new ArrayList<>();
        int steps = 14;
        try (PolicyModel policy = Checkpoint.load(BASE, Device.cpu()); PolicyTokenizer tokenizer = PolicyTokenizer.load(BASE, policy.config());
             LearnerStep learner = new LearnerStep(policy, hyper, Knobs.initial(hyper, 1), MICRO_BATCH, 1f);
             Run run = new Run()) {
            Recorder recorder = new Recorder() {
                @Override
                public synchronized void onStep(StepMetrics metrics) {
                    // On the learner's thread, between steps: every array the learner's model owns.
                    arrays.add(((ai.djl.ndarray.BaseNDManager) policy.parameters().values().iterator().next()
                            .getManager()).getManagedArrays().size());
                    super.onStep(metrics);
                }
            };
            run.start(policy, learner, null, new TaskPrompts(tokenizer, "{prompt}\n"), 1, 2, steps, recorder);
            recorder.awaitFinished();
        }
        assertEquals(arrays.get(2), arrays.get(steps - 1), "arrays owned by the learner's model, step by step: " + arrays);
    }

    @Test
    void aKilledSamplersQuestionsAreReissuedAndEveryQuestionIsTrainedOnExactlyOnce() throws Exception {
        HyperParameters hyper = hyper("eapo.algorithm.experience.initial-ratio = 0");
        Recorder recorder = new Recorder();
        int steps = 4;
        int questions = 4;
        List<GroupTask.Key> trained = new ArrayList<>();
        try (PolicyModel policy = Checkpoint.load(BASE, Device.cpu()); PolicyTokenizer tokenizer = PolicyTokenizer.load(BASE, policy.config());
             LearnerStep learner = new LearnerStep(policy, hyper, Knobs.initial(hyper, 1), MICRO_BATCH, 1f);
             Run run = new Run()) {
            Pipeline.Refs refs = run.start(policy, learner, null, new TaskPrompts(tokenizer, "{prompt}\n"), 2, questions, steps, recorder);
            boolean killed = false;
            while (trained.size() < steps * questions) {
                Learner.Command message = run.learnerInbox.receiveMessage(Duration.ofMinutes(5));
                if (message instanceof Learner.Train train) {
                    train.groups().forEach(g -> trained.add(new GroupTask.Key(g.step(), g.question())));
                    if (!killed) {
                        run.kit.stop(refs.samplers().get(0));
                        killed = true;
                    }
                }
            }
            recorder.awaitFinished();
        }
        Set<GroupTask.Key> expected = new HashSet<>();
        for (int s = 0; s < steps; s++) {
            for (int q = 0; q < questions; q++) {
                expected.add(new GroupTask.Key(s, q));
            }
        }
        assertEquals(steps * questions, trained.size(), "no question twice: " + trained);
        assertEquals(expected, new HashSet<>(trained), "every question of every step, once");
    }
}
