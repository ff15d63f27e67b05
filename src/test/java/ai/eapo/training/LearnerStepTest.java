package ai.eapo.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.eapo.UserInputException;
import ai.eapo.algorithm.HyperParameters;
import ai.eapo.algorithm.QuestionCurriculum;
import ai.eapo.algorithm.StepPlanner;
import ai.eapo.model.PolicyModel;
import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

/** Live knob changes the learner accepts for the run it is in, and the state it plans steps with. */
class LearnerStepTest {

    @Test
    void aRunStartedWithoutExperienceCannotTurnItOnButMayChangeOtherKnobs() {
        // LearnerCheckpointsTest.HYPER starts with initial-ratio 0: no prior was loaded.
        try (PolicyModel policy = LearnerCheckpointsTest.base(); LearnerStep learner = LearnerCheckpointsTest.learner(policy)) {
            UserInputException refused = assertThrows(UserInputException.class,
                    () -> learner.changed(Map.of("initial-ratio", "0.3")));
            assertTrue(refused.getMessage().contains("initial-ratio = 0.3: this run started with initial-ratio 0"),
                    refused.getMessage());
            assertEquals(2.0, learner.changed(Map.of("tau", "2")).tau());
        }
        HyperParameters eapo = HyperParameters.fromConfig(ConfigFactory.parseString(
                "eapo.algorithm.experience.initial-ratio = 0.5").withFallback(LearnerCheckpointsTest.HYPER_CONFIG));
        try (PolicyModel policy = LearnerCheckpointsTest.base();
             LearnerStep learner = new LearnerStep(policy, eapo, Knobs.initial(eapo, 0), MicroBatching.ofResponses(4), 1f)) {
            assertEquals(0.3, learner.changed(Map.of("initial-ratio", "0.3")).initialRatio());
            assertEquals(0.0, learner.changed(Map.of("initial-ratio", "0")).initialRatio(), "an EAPO run may stop it");
        }
    }

    @Test
    void theCurriculumHearsOfEveryTrainedAndRefilledGroupAndARestoredOneMustCoverTheData() {
        HyperParameters expo = HyperParameters.fromConfig(ConfigFactory.parseString(
                "eapo.algorithm.expo.curriculum { enabled = true, smoothing = 0.5 }")
                .withFallback(LearnerCheckpointsTest.HYPER_CONFIG));
        StepPlanner planner = new StepPlanner(10, 2, 3);
        try (PolicyModel policy = LearnerCheckpointsTest.base();
             LearnerStep learner = new LearnerStep(policy, expo, Knobs.initial(expo, 0), MicroBatching.ofResponses(4), 1f)) {
            assertNull(learner.curriculum(), "nothing planned yet");
            learner.plan(0, planner);
            assertEquals(0, learner.curriculum().seen(), "every question starts unseen");
            // Problems 0 and 1 are trained (half right each); problem 4 was replaced (all wrong), then problem 1 again.
            learner.apply(0, LearnerCheckpointsTest.groups(0), List.of(new RefilledGroup(4, 0.0),
                    new RefilledGroup(1, 1.0)), LearnerCheckpointsTest.WALL_SECONDS);
            assertEquals(0.5, learner.curriculum().runningAccuracy(0));
            assertEquals(0.0, learner.curriculum().runningAccuracy(4), "a replaced group's accuracy still counts");
            assertEquals(0.75, learner.curriculum().runningAccuracy(1), "replaced first (1.0), trained after (0.5)");
            assertEquals(3, learner.curriculum().seen());

            learner.restoreCurriculum(QuestionCurriculum.of(new double[20], expo.strategies().curriculum()));
            UserInputException wrongData = assertThrows(UserInputException.class, () -> learner.plan(1, planner));
            assertTrue(wrongData.getMessage().contains("covers 20 questions, but the training data has 10"),
                    wrongData.getMessage());
        }
    }
}
