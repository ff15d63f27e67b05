package ai.eapo.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.eapo.algorithm.AdaptiveKl;
import ai.eapo.algorithm.HyperParameters;
import ai.eapo.algorithm.QuestionCurriculum;
import ai.eapo.algorithm.TrainingBatches;
import ai.eapo.model.Checkpoint;
import ai.eapo.model.LocalPrior;
import ai.eapo.model.PolicyModel;
import ai.eapo.model.PolicyTokenizer;
import ai.eapo.training.Knobs;
import ai.eapo.training.LearnerStep;
import ai.eapo.training.ScoredGroup;
import ai.eapo.training.StepMetrics;
import ai.eapo.training.TaskPrompts;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Each sibling strategy (ExGRPO, EXPO, DAPO) runs a few steps in the actor pipeline on the tiny models. */
class StrategiesPipelineTest {

    static final int QUESTIONS = 8;

    /** What the learner received: every step's batch, and EXPO's curriculum as it last kept it (null when none). */
    private record Received(List<List<ScoredGroup>> batches, QuestionCurriculum curriculum) {
    }

    /** Runs {@code steps} steps; with EAPO's prior when {@code hyper} has experience on. */
    private static Received run(HyperParameters hyper, boolean withReference, int steps,
                                PipelineTest.Recorder recorder) throws Exception {
        List<List<ScoredGroup>> batches = new ArrayList<>();
        QuestionCurriculum curriculum;
        boolean eapo = hyper.usesExperience();
        try (PolicyModel policy = Checkpoint.load(PipelineTest.BASE, Device.cpu());
             PolicyModel reference = withReference ? policy.replica() : null;
             PolicyModel priorModel = eapo ? Checkpoint.load(PipelineTest.PRIOR, Device.cpu()) : null;
             LocalPrior prior = eapo ? new LocalPrior(priorModel, PipelineTest.SAMPLING) : null;
             PolicyTokenizer tokenizer = PolicyTokenizer.load(PipelineTest.BASE, policy.config());
             LearnerStep learner = new LearnerStep(policy, reference, hyper, Knobs.initial(hyper, 1),
                     PipelineTest.MICRO_BATCH, 1f);
             PipelineTest.Run run = new PipelineTest.Run()) {
            run.start(policy, learner, prior, new TaskPrompts(tokenizer, "{prompt}\n"), 1, QUESTIONS, steps, recorder);
            while (batches.size() < steps) {
                if (run.learnerInbox.receiveMessage(Duration.ofMinutes(5)) instanceof Learner.Train train) {
                    batches.add(train.groups());
                }
            }
            recorder.awaitFinished();
            curriculum = learner.curriculum(); // the learner thread set it before its last step
        }
        for (StepMetrics m : recorder.all) {
            assertTrue(!m.skipped() && Double.isFinite(m.loss()), "step " + m.step() + " was skipped or not finite");
        }
        return new Received(batches, curriculum);
    }

    /** The problems the step of {@code batch} takes without any strategy: the dataset order. */
    private static List<Integer> datasetOrder(List<ScoredGroup> batch) {
        return TrainingBatches.indices(PipelineTest.DATA.size(), batch.get(0).step(), QUESTIONS, PipelineTest.SEED);
    }

    @Test
    void exGrpoReplaysStoredCorrectTrajectoriesInGroupsOfOneShortOfG() throws Exception {
        // Start replay at once (start-accuracy 0), so a short run sees experiential groups.
        HyperParameters hyper = PipelineTest.hyper("eapo.algorithm { experience.initial-ratio = 0, "
                + "exgrpo { enabled = true, start-accuracy = 0, ratio = 0.5 } }");
        int g = hyper.groupSize();
        PipelineTest.Recorder recorder = new PipelineTest.Recorder();
        List<List<ScoredGroup>> batches = run(hyper, false, 5, recorder).batches();
        int experiential = 0;
        for (List<ScoredGroup> batch : batches) {
            assertEquals(QUESTIONS, batch.size());
            for (ScoredGroup group : batch) {
                assertTrue(group.responses().size() == g || group.responses().size() == g - 1,
                        "a group holds G responses, or G - 1 awaiting its replayed trajectory");
                experiential += group.responses().size() == g - 1 ? 1 : 0;
            }
        }
        assertTrue(experiential > 0, "later steps should draw experiential questions from the buffer");
        StepMetrics last = recorder.all.get(recorder.all.size() - 1);
        assertTrue(last.replay().active());
        assertTrue(last.replay().trajectories() > 0, "correct trajectories are stored");
        assertTrue(recorder.all.stream().anyMatch(m -> m.replay().replayed() > 0), "some step replayed a trajectory");
        // A question retired (solved 100%) between its draw and its training has nothing left to replay.
        assertTrue(recorder.all.stream().mapToInt(m -> m.replay().replayed()).sum() <= experiential,
                "at most one replayed trajectory per experiential group");
    }

    @Test
    void expoWithEapoScalesTheKlByBatchAccuracyAndDrawsQuestionsByCurriculum() throws Exception {
        // EXPO combines with EAPO: the prior writes at critical tokens of the experience-augmented responses.
        HyperParameters hyper = PipelineTest.hyper("eapo.algorithm { experience.initial-ratio = 0.5, "
                + "expo { kl { enabled = true, beta-max = 0.05, steepness = 10, midpoint = 0.5 }, "
                + "curriculum { enabled = true, sigma = 0.2 } } }");
        PipelineTest.Recorder recorder = new PipelineTest.Recorder();
        Received received = run(hyper, true, 4, recorder);
        List<List<ScoredGroup>> batches = received.batches();
        AdaptiveKl kl = hyper.strategies().adaptiveKl();
        for (StepMetrics m : recorder.all) {
            assertEquals(kl.coefficient(m.accuracy()), m.klCoef(), 1e-12, "β(acc) at step " + m.step());
            assertTrue(m.referenceKl() >= 0 && Double.isFinite(m.referenceKl()), "KL to the reference is measured");
        }
        assertTrue(recorder.all.get(recorder.all.size() - 1).referenceKl() > 0, "the policy moved off the reference");
        assertTrue(recorder.all.stream().anyMatch(m -> m.resampledRatio() > 0), "the prior wrote some tokens");
        for (List<ScoredGroup> batch : batches) {
            assertEquals(QUESTIONS, batch.stream().mapToInt(ScoredGroup::problemId).distinct().count(),
                    "a step's curriculum draws distinct questions");
        }
        // The curriculum, not the dataset order, chose the batches after the first observations.
        boolean differs = false;
        for (List<ScoredGroup> batch : batches) {
            differs |= !batch.stream().map(ScoredGroup::problemId).toList().equals(datasetOrder(batch));
        }
        assertTrue(differs);
        // The learner keeps the running accuracies it plans with (and its checkpoints save).
        assertTrue(received.curriculum() != null && received.curriculum().seen() >= QUESTIONS,
                "the learner's curriculum observed the trained groups");
    }

    @Test
    void dapoDynamicSamplingRefillsUniformGroupsWithOtherProblems() throws Exception {
        HyperParameters hyper = PipelineTest.hyper("eapo.algorithm { experience.initial-ratio = 0, "
                + "advantage { drop-uniform-groups = true, max-refills = 3 }, "
                + "dapo.overlong { enabled = true, cache-length = 16 } }");
        PipelineTest.Recorder recorder = new PipelineTest.Recorder();
        List<List<ScoredGroup>> batches = run(hyper, false, 3, recorder).batches();
        int refilled = 0;
        int uniform = 0;
        for (List<ScoredGroup> batch : batches) {
            List<Integer> ordered = datasetOrder(batch);
            for (ScoredGroup group : batch) {
                boolean replaced = group.problemId() != ordered.get(group.question());
                refilled += replaced ? 1 : 0;
                assertTrue(!replaced || group.refills() > 0, "a replaced problem counts its refills");
                uniform += group.uniform() ? 1 : 0;
            }
        }
        assertTrue(refilled > 0, "some question without signal was replaced by another problem");
        assertEquals(batches.stream().flatMap(List::stream).mapToInt(ScoredGroup::refills).sum(),
                recorder.all.stream().mapToInt(StepMetrics::refills).sum(), "metrics.jsonl counts every refill");
        assertTrue(uniform < refilled, "refills leave fewer groups without signal than they replaced: " + uniform
                + " uniform, " + refilled + " refilled");
    }
}
