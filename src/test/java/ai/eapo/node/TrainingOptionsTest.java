package ai.eapo.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.eapo.UserInputException;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.Test;

/** The rollout settings training accepts. */
class TrainingOptionsTest {

    private static Config withTemperature(double temperature) {
        return ConfigFactory.parseString("eapo.rollout.temperature = " + temperature).withFallback(ConfigFactory.load());
    }

    @Test
    void greedyRolloutsAreRefusedForTrainingWithTheKeyNamed() {
        UserInputException e = assertThrows(UserInputException.class,
                () -> TrainingOptions.rolloutOptions(withTemperature(0), 0));
        assertTrue(e.getMessage().contains("eapo.rollout.temperature = 0"), e.getMessage());
        assertEquals(0.7, TrainingOptions.rolloutOptions(withTemperature(0.7), 0).sampling().temperature(), 0.0);
    }
}
