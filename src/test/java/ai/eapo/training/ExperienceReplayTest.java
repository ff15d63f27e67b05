package ai.eapo.training;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.eapo.algorithm.AdvantageNorm;
import ai.eapo.algorithm.AdvantageOptions;
import ai.eapo.algorithm.ReplayOptions;
import ai.eapo.model.Generator.Completion;
import ai.eapo.model.PolicyModel;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

/** The learner's side of ExGRPO: what it records of a step, and how it completes an experiential group. */
class ExperienceReplayTest {

    private static final AdvantageOptions NO_NORM = new AdvantageOptions(AdvantageNorm.NONE, 1e-6, false, 0, false);
    private static final ReplayOptions START_AT_ONCE = new ReplayOptions(true, 0.5, 0.0, 0.5, 1.0, 4, 4096);
    private static final int G = 4;
    private static final int PROBLEM = 5;
    private static final long[] PROMPT = {11, 12, 13};

    private static Completion response(long id) {
        long[] tokens = {20 + id, 30 + id};
        float[] logProbs = {-1f - id, -2f};
        return new Completion(id, tokens, logProbs, logProbs.clone(), new float[]{1f, 1f}, new float[2], new boolean[2], new long[] {3, 4},
                true, false);
    }

    private static List<Completion> responses(int count) {
        List<Completion> out = new ArrayList<>();
        for (int j = 0; j < count; j++) {
            out.add(response(j));
        }
        return out;
    }

    @Test
    void anExperientialGroupIsCompletedByTheStoredTrajectoryWithThePenaltyItWasGenerated() {
        ExperienceReplay replay = new ExperienceReplay(START_AT_ONCE, 1f, 3);
        // Step 1: slot 0 alone is correct, and ran into the overlong ramp.
        ScoredGroup first = ScoredGroup.of(1, 0, PROBLEM, PROMPT, responses(G), new double[] {1, 0, 0, 0},
                new double[] {-0.5, 0, 0, 0}, NO_NORM);
        replay.record(List.of(first), 1);
        assertTrue(replay.active(), "Pass@1 0.25 exceeds the start accuracy 0");
        assertEquals(0.25, replay.candidates().get(PROBLEM), 0.0);

        // Step 2 draws the question as experiential: G - 1 fresh rollouts.
        ScoredGroup experiential = ScoredGroup.of(2, 0, PROBLEM, PROMPT, responses(G - 1), new double[] {0, 1, 0},
                new double[] {0, -0.25, 0}, NO_NORM);
        ScoredGroup onPolicy = ScoredGroup.of(2, 1, PROBLEM + 1, PROMPT, responses(G), new double[] {1, 0, 0, 0},
                NO_NORM);
        List<ScoredGroup> completed;
        try (PolicyModel policy = LearnerCheckpointsTest.base()) {
            completed = replay.complete(List.of(experiential, onPolicy), policy, G, NO_NORM);
        }
        ScoredGroup group = completed.get(0);
        assertEquals(G - 1, group.replayedSlot());
        assertArrayEquals(first.responses().get(0).tokens(), group.responses().get(G - 1).tokens());
        assertArrayEquals(first.responses().get(0).logProbs(), group.responses().get(G - 1).logProbs(),
                "the behaviour log-probs of the policy that generated it");
        assertArrayEquals(new double[] {0, 1, 0, 1}, group.rewards());
        assertArrayEquals(new double[] {0, -0.25, 0, -0.5}, group.penalties());
        // Shaped rewards 0, 0.75, 0, 0.5 with mean 0.3125.
        assertArrayEquals(new double[] {-0.3125, 0.4375, -0.3125, 0.1875}, group.advantages().advantages(), 1e-12);
        assertSame(onPolicy, completed.get(1), "a full group is left as it is");
        assertEquals(1, replay.stats().replayed());

        // The replayed trajectory was not generated this step: the step's numbers leave it out.
        assertEquals(1.0 / 3, group.accuracy(), 1e-12);
        StepMetrics metrics = StepMetrics.of(2, Knobs.initial(LearnerCheckpointsTest.HYPER, 0), 0, 0, completed,
                NO_NORM, PolicyUpdate.Report.empty(), 1.0, replay.stats());
        assertEquals(2.0 / 7, metrics.accuracy(), 1e-12, "2 correct of the 7 generated responses");
        assertEquals(7 * 2, metrics.tokens());
        assertEquals(2, metrics.groups());
        assertEquals(0, metrics.uniformGroups());
    }

    @Test
    void aTrajectorysMeanEntropyIsTheSameInChunksOfAnySize() {
        long[] tokens = {20, 31, 42, 53, 64, 75, 9};
        ReplayBuffer.Stored stored = new ReplayBuffer.Stored(PROMPT, tokens, new float[tokens.length], 0, 0);
        try (PolicyModel policy = LearnerCheckpointsTest.base();
             ai.djl.ndarray.NDManager m = ai.djl.ndarray.NDManager.newBaseManager()) {
            long[] ids = {11, 12, 13, 20, 31, 42, 53, 64, 75};
            ai.djl.ndarray.NDArray logits = policy.logits(m.create(ids, new ai.djl.ndarray.types.Shape(1, ids.length)));
            double direct = ai.eapo.model.SoftmaxEntropy.ofRows(logits.get("0, 2:"), 0.8f).mean().getFloat();
            for (int chunk : new int[]{1, 3, 64}) {
                assertEquals(direct, new ExperienceReplay(START_AT_ONCE, 0.8f, chunk).meanEntropy(policy, stored), 1e-5,
                        "chunk " + chunk);
            }
        }
    }
}
