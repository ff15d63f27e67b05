package ai.eapo.algorithm;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class AdaptiveKlTest {

    private static final double TOLERANCE = 1e-15;
    private static final AdaptiveKl DEFAULTS = new AdaptiveKl(true, 0.05, 10.0, 0.5);

    @Test
    void defaultsAreValid() {
        assertDoesNotThrow(DEFAULTS::validate);
        assertDoesNotThrow(new AdaptiveKl(false, 0.0, 10.0, 0.5)::validate);
    }

    @Test
    void midpointGivesHalfOfBetaMax() {
        assertEquals(0.025, DEFAULTS.coefficient(0.5), TOLERANCE);
        assertEquals(0.1, new AdaptiveKl(true, 0.2, 3.0, 0.3).coefficient(0.3), TOLERANCE);
        assertEquals(0.5, new AdaptiveKl(true, 1.0, 50.0, 0.0).coefficient(0.0), TOLERANCE);
    }

    @Test
    void endpointsOfTheDefaultsByHand() {
        // acc = 0: κ (acc − a_0) = −5, σ(−5) = 1 / (1 + e^5) = 1 / 149.4131591025766 = 0.0066928509242848554
        assertEquals(0.05 * 0.0066928509242848554, DEFAULTS.coefficient(0.0), TOLERANCE);
        assertEquals(3.346425462142428e-4, DEFAULTS.coefficient(0.0), TOLERANCE);
        // acc = 1: σ(5) = 1 − σ(−5) = 0.9933071490757153, so β = 0.049665357453785766
        assertEquals(0.049665357453785766, DEFAULTS.coefficient(1.0), TOLERANCE);
        // acc = 0.6: σ(1) = 1 / (1 + e^−1) = 0.7310585786300049
        assertEquals(0.05 * 0.7310585786300049, DEFAULTS.coefficient(0.6), TOLERANCE);
    }

    @Test
    void strictlyIncreasingInAccuracyAndBelowBetaMax() {
        double previous = -1.0;
        for (int i = 0; i <= 100; i++) {
            double accuracy = i / 100.0;
            double beta = DEFAULTS.coefficient(accuracy);
            assertTrue(beta > previous, "not increasing at accuracy " + accuracy);
            assertTrue(beta > 0.0 && beta < 0.05, "outside (0, β_max) at accuracy " + accuracy + ": " + beta);
            previous = beta;
        }
    }

    @Test
    void zeroBetaMaxSwitchesThePenaltyOff() {
        AdaptiveKl off = new AdaptiveKl(true, 0.0, 10.0, 0.5);
        assertEquals(0.0, off.coefficient(0.0));
        assertEquals(0.0, off.coefficient(1.0));
    }

    @Test
    void veryLargeSteepnessSaturatesWithoutNaN() {
        AdaptiveKl step = new AdaptiveKl(true, 0.05, 1e6, 0.5);
        assertEquals(0.0, step.coefficient(0.0));
        assertEquals(0.025, step.coefficient(0.5));
        assertEquals(0.05, step.coefficient(1.0));
    }

    @ParameterizedTest
    @ValueSource(doubles = {-0.1, 1.0000001, Double.NaN, Double.POSITIVE_INFINITY})
    void accuracyOutsideUnitIntervalIsRefusedNamingIt(double accuracy) {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> DEFAULTS.coefficient(accuracy));
        assertTrue(error.getMessage().contains("batch accuracy = " + accuracy), error.getMessage());
    }

    @Test
    void validationNamesKeyAndValue() {
        assertRefused(new AdaptiveKl(true, -0.01, 10.0, 0.5), AdaptiveKl.KEY_BETA_MAX + " = -0.01");
        assertRefused(new AdaptiveKl(true, Double.NaN, 10.0, 0.5), AdaptiveKl.KEY_BETA_MAX + " = NaN");
        assertRefused(new AdaptiveKl(true, Double.POSITIVE_INFINITY, 10.0, 0.5),
                AdaptiveKl.KEY_BETA_MAX + " = Infinity");
        assertRefused(new AdaptiveKl(true, 0.05, 0.0, 0.5), AdaptiveKl.KEY_STEEPNESS + " = 0.0");
        assertRefused(new AdaptiveKl(true, 0.05, -2.0, 0.5), AdaptiveKl.KEY_STEEPNESS + " = -2.0");
        assertRefused(new AdaptiveKl(true, 0.05, Double.POSITIVE_INFINITY, 0.5),
                AdaptiveKl.KEY_STEEPNESS + " = Infinity");
        assertRefused(new AdaptiveKl(true, 0.05, 10.0, 1.5), AdaptiveKl.KEY_MIDPOINT + " = 1.5");
        assertRefused(new AdaptiveKl(true, 0.05, 10.0, -0.1), AdaptiveKl.KEY_MIDPOINT + " = -0.1");
        assertRefused(new AdaptiveKl(true, 0.05, 10.0, Double.NaN), AdaptiveKl.KEY_MIDPOINT + " = NaN");
    }

    @Test
    void keysAreTheDocumentedOnes() {
        assertEquals("eapo.algorithm.expo.kl.enabled", AdaptiveKl.KEY_ENABLED);
        assertEquals("eapo.algorithm.expo.kl.beta-max", AdaptiveKl.KEY_BETA_MAX);
        assertEquals("eapo.algorithm.expo.kl.steepness", AdaptiveKl.KEY_STEEPNESS);
        assertEquals("eapo.algorithm.expo.kl.midpoint", AdaptiveKl.KEY_MIDPOINT);
    }

    private static void assertRefused(AdaptiveKl options, String expectedInMessage) {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class, options::validate);
        assertTrue(error.getMessage().contains(expectedInMessage), error.getMessage());
    }
}
