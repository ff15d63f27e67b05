package ai.eapo.training;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.eapo.algorithm.AdvantageNorm;
import ai.eapo.algorithm.AdvantageOptions;
import ai.eapo.model.Generator.Completion;
import org.junit.jupiter.api.Test;

import java.util.List;

/** "Pos-Only" experience: incorrect experience-augmented responses leave the group before the baseline is taken. */
class ScoredGroupTest {

    private static final AdvantageOptions ALL = new AdvantageOptions(AdvantageNorm.NONE, 1e-6, false, 0, false);
    private static final AdvantageOptions CORRECT_ONLY = new AdvantageOptions(AdvantageNorm.NONE, 1e-6, false, 0, true);

    private static Completion response(long id, boolean experience) {
        return new Completion(id, new long[]{5, 6}, new float[]{-1f, -1f}, new float[]{-1f, -1f}, new float[]{1f, 1f}, new float[]{1f, 1f},
                new boolean[]{experience, false}, new long[]{0, 0}, true, experience);
    }

    // Slots: on-policy 1, on-policy 0, EA 1, EA 0.
    private static final List<Completion> RESPONSES =
            List.of(response(0, false), response(1, false), response(2, true), response(3, true));
    private static final double[] REWARDS = {1, 0, 1, 0};

    @Test
    void everyResponseTrainsByDefault() {
        ScoredGroup group = ScoredGroup.of(0, 0, 0, new long[]{1}, RESPONSES, REWARDS, ALL);
        // mean 0.5 over four: advantages ±0.5.
        assertArrayEquals(new double[]{0.5, -0.5, 0.5, -0.5}, group.advantages().advantages(), 1e-12);
        assertEquals(4, group.trajectories().size());
    }

    @Test
    void correctOnlyDropsTheIncorrectExperienceResponseFromBaselineAndLoss() {
        ScoredGroup group = ScoredGroup.of(0, 0, 0, new long[]{1}, RESPONSES, REWARDS, CORRECT_ONLY);
        // Kept: rewards 1, 0, 1 with mean 2/3; the dropped slot 3 gets 0 and no trajectory.
        assertArrayEquals(new double[]{1.0 / 3, -2.0 / 3, 1.0 / 3, 0}, group.advantages().advantages(), 1e-12);
        assertArrayEquals(new boolean[]{true, true, true, false}, group.trained());
        List<Trajectory> trained = group.trajectories();
        assertEquals(3, trained.size());
        assertEquals(-2.0 / 3, trained.get(1).advantage(), 1e-12);
        assertArrayEquals(REWARDS, group.rewards(), "metrics still see every reward");
    }

    @Test
    void aStepCountsItsGroupsWithoutSignal() {
        ScoredGroup allWrong = ScoredGroup.of(0, 0, 0, new long[]{1}, RESPONSES, new double[4], ALL);
        ScoredGroup mixed = ScoredGroup.of(0, 1, 1, new long[]{1}, RESPONSES, REWARDS, ALL);
        StepMetrics metrics = StepMetrics.of(0, Knobs.initial(LearnerCheckpointsTest.HYPER, 0), 0, 0,
                List.of(allWrong, mixed, allWrong), ALL, PolicyUpdate.Report.empty(), 1.0, null);
        assertEquals(3, metrics.groups());
        assertEquals(2, metrics.uniformGroups());
        assertEquals(2.0 / 12, metrics.accuracy(), 1e-12);
        assertEquals(3, metrics.eaGroups(), "every group here has experience responses");
        assertEquals(2, metrics.eaUniformGroups());
    }

    @Test
    void groupsWithoutExperienceResponsesAreCountedApart() {
        List<Completion> onPolicy = List.of(response(0, false), response(1, false), response(2, false), response(3, false));
        ScoredGroup plainWrong = ScoredGroup.of(0, 0, 0, new long[]{1}, onPolicy, new double[4], ALL);
        ScoredGroup eaMixed = ScoredGroup.of(0, 1, 1, new long[]{1}, RESPONSES, REWARDS, ALL);
        ScoredGroup eaWrong = ScoredGroup.of(0, 2, 2, new long[]{1}, RESPONSES, new double[4], ALL);
        StepMetrics metrics = StepMetrics.of(0, Knobs.initial(LearnerCheckpointsTest.HYPER, 0), 0, 0,
                List.of(plainWrong, eaMixed, eaWrong), ALL, PolicyUpdate.Report.empty(), 1.0, null);
        assertEquals(2, metrics.uniformGroups());
        assertEquals(2, metrics.eaGroups());
        assertEquals(1, metrics.eaUniformGroups());
    }

    @Test
    void dynamicSamplingJudgesAGroupByCorrectnessNotByItsPenalisedRewards() {
        AdvantageOptions dynamic = new AdvantageOptions(AdvantageNorm.NONE, 1e-6, true, 4, false);
        double[] penalties = {0, -0.5, 0, -0.25};
        ScoredGroup allWrong = ScoredGroup.of(0, 0, 0, new long[]{1}, RESPONSES, new double[4], penalties, dynamic);
        assertFalse(allWrong.uniform(), "the overlong penalties set the rewards apart");
        assertTrue(allWrong.withoutSignal(dynamic), "but none is correct: DAPO drops the group");
        assertFalse(allWrong.withoutSignal(ALL), "without dynamic sampling the penalties are a signal");
        ScoredGroup allRight = ScoredGroup.of(0, 1, 1, new long[]{1}, RESPONSES, new double[]{1, 1, 1, 1}, penalties,
                dynamic);
        assertTrue(allRight.withoutSignal(dynamic));
        ScoredGroup mixed = ScoredGroup.of(0, 2, 2, new long[]{1}, RESPONSES, REWARDS, penalties, dynamic);
        assertFalse(mixed.withoutSignal(dynamic), "0 < #correct < G");
        StepMetrics metrics = StepMetrics.of(0, Knobs.initial(LearnerCheckpointsTest.HYPER, 0), 0, 0,
                List.of(allWrong, allRight, mixed), dynamic, PolicyUpdate.Report.empty(), 1.0, null);
        assertEquals(2, metrics.uniformGroups());
    }

    @Test
    void aStepSetsTheAccuracyOfExperienceAgainstThatOfThePolicysOwnResponses() {
        // Slots: on-policy 1, on-policy 1, EA 0, EA 0; then on-policy 0, on-policy 1, EA 1, EA 0.
        ScoredGroup first = ScoredGroup.of(0, 0, 0, new long[]{1}, RESPONSES, new double[]{1, 1, 0, 0}, ALL);
        ScoredGroup second = ScoredGroup.of(0, 1, 1, new long[]{1}, RESPONSES, new double[]{0, 1, 1, 0}, ALL);
        StepMetrics metrics = StepMetrics.of(0, Knobs.initial(LearnerCheckpointsTest.HYPER, 0), 0, 0,
                List.of(first, second), ALL, PolicyUpdate.Report.empty(), 1.0, null);
        assertEquals(3.0 / 4, metrics.policyAccuracy(), 1e-12);
        assertEquals(1.0 / 4, metrics.eaAccuracy(), 1e-12);
        assertEquals(4.0 / 8, metrics.accuracy(), 1e-12);
    }

    @Test
    void aGroupLeftWithFewerThanTwoResponsesCarriesNoSignal() {
        List<Completion> mostlyExperience = List.of(response(0, false), response(1, true), response(2, true));
        ScoredGroup group = ScoredGroup.of(0, 0, 0, new long[]{1}, mostlyExperience, new double[]{1, 0, 0}, CORRECT_ONLY);
        assertTrue(group.uniform());
        assertArrayEquals(new double[3], group.advantages().advantages());
        assertEquals(1, group.trajectories().size());
    }

    @Test
    void aReplayedTrajectoryJoinsWithRewardOneAndEveryResponseKeepsItsPenalty() {
        List<Completion> fresh = List.of(response(0, false), response(1, false), response(2, false));
        ScoredGroup group = ScoredGroup.of(3, 1, 7, new long[]{1}, fresh, new double[]{1, 0, 0},
                new double[]{-0.5, 0, 0}, ALL);
        ScoredGroup completed = group.withReplayed(response(9, false), -0.25, ALL);
        // Shaped rewards 0.5, 0, 0, 0.75 with mean 0.3125.
        assertArrayEquals(new double[]{0.1875, -0.3125, -0.3125, 0.4375}, completed.advantages().advantages(), 1e-12);
        assertArrayEquals(new double[]{1, 0, 0, 1}, completed.rewards(), "the replayed trajectory is correct");
        assertArrayEquals(new double[]{-0.5, 0, 0, -0.25}, completed.penalties());
        assertEquals(3, completed.replayedSlot());
        assertEquals(7, completed.problemId());
        assertTrue(completed.trajectories().get(3).replayed());
    }
}
