package ai.eapo.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.eapo.UserInputException;
import ai.eapo.algorithm.HyperParameters;
import ai.eapo.model.PolicyModel;
import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.Test;

import java.util.Map;

/** Live knob changes the learner accepts for the run it is in. */
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
}
