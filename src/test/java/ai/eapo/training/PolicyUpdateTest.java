package ai.eapo.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.eapo.algorithm.LossOptions;
import ai.eapo.algorithm.MismatchCorrection;
import ai.eapo.model.PolicyModel;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

/** The behaviour weight of current-version tokens, and several optimizer steps per batch. */
class PolicyUpdateTest {

    /** Step 0's batch of {@link LearnerCheckpointsTest#groups}: random tokens decoded by weight version 0. */
    private static List<Trajectory> batch() {
        List<Trajectory> out = new ArrayList<>();
        LearnerCheckpointsTest.groups(0).forEach(g -> out.addAll(g.trajectories()));
        return out;
    }

    private static PolicyUpdate update(PolicyModel policy, AdamW optimizer, int miniBatches, int epochs) {
        return new PolicyUpdate(policy, null, optimizer, LearnerCheckpointsTest.HYPER.loss(),
                LearnerCheckpointsTest.MICRO_BATCH, miniBatches, epochs, 1f);
    }

    @Test
    void tokensOfTheWeightsBeingTrainedWeighExactlyOneAndStaleOnesTheirRatio() {
        // The behaviour log-probs (−4 to −5) are not the tiny model's: as stale tokens they get weights ≠ 1.
        try (PolicyModel policy = LearnerCheckpointsTest.base();
             AdamW optimizer = new AdamW(policy, LearnerCheckpointsTest.HYPER.optimizer())) {
            PolicyUpdate.Report current = update(policy, optimizer, 1, 1).step(batch(), 0, 0);
            assertEquals(1.0, current.meanIsWeight(), 0.0);
            assertEquals(0.0, current.kl(), 0.0, "nothing is stale");
        }
        try (PolicyModel policy = LearnerCheckpointsTest.base();
             AdamW optimizer = new AdamW(policy, LearnerCheckpointsTest.HYPER.optimizer())) {
            PolicyUpdate.Report stale = update(policy, optimizer, 1, 1).step(batch(), 0, 1);
            assertTrue(Math.abs(stale.meanIsWeight() - 1.0) > 0.01, "weight " + stale.meanIsWeight());
            assertTrue(stale.kl() > 0.01, "drift " + stale.kl());
        }
    }

    @Test
    void theSamplerLearnerMismatchIsMeasuredAndCorrectedOnlyWhenAskedTo() {
        // The recorded log-probs (−4 to −5) are not what the tiny model computes: a large "numerical" mismatch.
        LossOptions l = LearnerCheckpointsTest.HYPER.loss();
        LossOptions corrected = new LossOptions(l.isMode(), l.isCap(), l.clipLow(), l.clipHigh(), l.klCoef(),
                l.aggregation(), l.shapingGamma(), l.replayShapingBeta(), MismatchCorrection.TRUNCATED);
        PolicyUpdate.Report exact;
        PolicyUpdate.Report truncated;
        try (PolicyModel policy = LearnerCheckpointsTest.base();
             AdamW optimizer = new AdamW(policy, LearnerCheckpointsTest.HYPER.optimizer())) {
            exact = update(policy, optimizer, 1, 1).step(batch(), 0, 0);
        }
        try (PolicyModel policy = LearnerCheckpointsTest.base();
             AdamW optimizer = new AdamW(policy, LearnerCheckpointsTest.HYPER.optimizer())) {
            truncated = new PolicyUpdate(policy, null, optimizer, corrected, LearnerCheckpointsTest.MICRO_BATCH, 1, 1, 1f)
                    .step(batch(), 0, 0);
        }
        assertEquals(1.0, exact.meanIsWeight(), 0.0, "off: tokens of the weights being trained weigh exactly 1");
        assertTrue(exact.mismatchKl() > 0.1, "but the mismatch is measured: " + exact.mismatchKl());
        assertTrue(Math.abs(Math.log(exact.mismatchMaxRatio())) > 0.1, "largest ratio " + exact.mismatchMaxRatio());
        assertEquals(exact.mismatchKl(), truncated.mismatchKl(), 1e-6, "the same measurement either way");
        assertTrue(Math.abs(truncated.meanIsWeight() - 1.0) > 0.01, "truncated: the ratio weighs them, "
                + truncated.meanIsWeight());
    }

    @Test
    void recomputingLayersInTheBackwardPassGivesTheSameLossAndGradient() {
        // Per element, LayerRecomputeTest compares the gradients; here the whole update path takes the option.
        List<PolicyUpdate.Report> reports = new ArrayList<>();
        for (MicroBatching micro : List.of(LearnerCheckpointsTest.MICRO_BATCH,
                LearnerCheckpointsTest.MICRO_BATCH.recomputingLayers())) {
            try (PolicyModel policy = LearnerCheckpointsTest.base();
                 AdamW optimizer = new AdamW(policy, LearnerCheckpointsTest.HYPER.optimizer())) {
                reports.add(new PolicyUpdate(policy, null, optimizer, LearnerCheckpointsTest.HYPER.loss(), micro, 1, 1,
                        1f).step(batch(), 0, 0));
            }
        }
        assertTrue(reports.get(0).gradNorm() > 0);
        assertEquals(reports.get(0).loss(), reports.get(1).loss(), 1e-6);
        assertEquals(reports.get(0).gradNorm(), reports.get(1).gradNorm(), 1e-5 * reports.get(0).gradNorm());
    }

    @Test
    void miniBatchesAndEpochsTakeOneOptimizerStepEachAndOnlyThenClip() {
        List<Trajectory> batch = batch();
        try (PolicyModel policy = LearnerCheckpointsTest.base();
             AdamW optimizer = new AdamW(policy,
                     LearnerCheckpointsTest.HYPER.optimizer().withLearningRate(0.05))) {
            PolicyUpdate.Report once = update(policy, optimizer, 1, 1).step(batch, 0, 0);
            assertEquals(1, optimizer.steps());
            assertEquals(0.0, once.clipFraction(), 0.0, "one step per batch: the ratio is 1, nothing to clip");
        }
        try (PolicyModel policy = LearnerCheckpointsTest.base();
             AdamW optimizer = new AdamW(policy,
                     LearnerCheckpointsTest.HYPER.optimizer().withLearningRate(0.05))) {
            PolicyUpdate.Report many = update(policy, optimizer, 2, 2).step(batch, 0, 0);
            assertEquals(4, optimizer.steps(), "2 mini-batches x 2 epochs");
            assertTrue(many.clipFraction() > 0, "later updates move the ratio off 1: " + many.clipFraction());
            assertFalse(many.skipped());
            assertTrue(Double.isFinite(many.loss()) && Double.isFinite(many.gradNorm()));
            assertEquals(batch.stream().mapToLong(t -> t.tokens().length).sum(), many.tokens());
        }
    }
}
