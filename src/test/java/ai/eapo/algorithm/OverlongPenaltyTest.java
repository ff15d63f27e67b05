package ai.eapo.algorithm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class OverlongPenaltyTest {

    private static final double TOLERANCE = 1e-15;
    /** L_cache = 16 (default), so with L_max = 100 the ramp covers lengths 85..100. */
    private static final OverlongPenalty DEFAULTS = new OverlongPenalty(true, 16, 1.0);

    @Test
    void defaultsAreValid() {
        assertDoesNotThrow(DEFAULTS::validate);
    }

    @ParameterizedTest
    @CsvSource({
        "0,     0.0",
        "50,    0.0",
        "84,    0.0",      // L = L_max − L_cache: last length without penalty
        "85,    -0.0625",  // (84 − 85) / 16
        "92,    -0.5",     // (84 − 92) / 16
        "99,    -0.9375",  // (84 − 99) / 16
        "100,   -1.0",     // L = L_max: the ramp ends at −factor
        "101,   -1.0",     // past the limit: −factor
        "10000, -1.0",
    })
    void boundaryValuesWithUnitFactor(int length, double expected) {
        assertEquals(expected, DEFAULTS.penalty(length, 100), TOLERANCE);
    }

    @ParameterizedTest
    @CsvSource({
        "84,  0.0",
        "85,  -0.15625",  // 2.5 · (84 − 85) / 16
        "92,  -1.25",     // 2.5 · (84 − 92) / 16
        "100, -2.5",
        "101, -2.5",
    })
    void factorScalesTheWholePenalty(int length, double expected) {
        assertEquals(expected, new OverlongPenalty(true, 16, 2.5).penalty(length, 100), TOLERANCE);
    }

    @Test
    void continuousAtTheLimit() {
        for (int maxLength : new int[] {17, 100, 4096}) {
            assertEquals(DEFAULTS.penalty(maxLength + 1, maxLength), DEFAULTS.penalty(maxLength, maxLength),
                    "L_max = " + maxLength);
        }
    }

    @Test
    void cacheOfOneTokenIsAHardCliffAtTheLimit() {
        OverlongPenalty cliff = new OverlongPenalty(true, 1, 1.0);
        assertEquals(0.0, cliff.penalty(1, 2));
        assertEquals(-1.0, cliff.penalty(2, 2));
        assertEquals(0.0, cliff.penalty(511, 512));
        assertEquals(-1.0, cliff.penalty(512, 512));
    }

    @Test
    void cacheNotBelowMaxLengthIsRefusedNamingBoth() {
        for (int maxLength : new int[] {16, 8}) {
            IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                    () -> DEFAULTS.penalty(4, maxLength));
            assertTrue(error.getMessage().contains(OverlongPenalty.KEY_CACHE_LENGTH + " = 16"), error.getMessage());
            assertTrue(error.getMessage().contains("max length = " + maxLength), error.getMessage());
        }
        assertEquals(0.0, DEFAULTS.penalty(1, 17)); // smallest valid limit: the ramp starts after token 1
    }

    @Test
    void negativeResponseLengthIsRefused() {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> DEFAULTS.penalty(-1, 100));
        assertTrue(error.getMessage().contains("response length = -1"), error.getMessage());
    }

    @Test
    void validationNamesKeyAndValue() {
        assertRefused(new OverlongPenalty(true, 0, 1.0), OverlongPenalty.KEY_CACHE_LENGTH + " = 0");
        assertRefused(new OverlongPenalty(true, -4, 1.0), OverlongPenalty.KEY_CACHE_LENGTH + " = -4");
        assertRefused(new OverlongPenalty(true, 16, 0.0), OverlongPenalty.KEY_FACTOR + " = 0.0");
        assertRefused(new OverlongPenalty(true, 16, -1.0), OverlongPenalty.KEY_FACTOR + " = -1.0");
        assertRefused(new OverlongPenalty(true, 16, Double.NaN), OverlongPenalty.KEY_FACTOR + " = NaN");
        assertRefused(new OverlongPenalty(true, 16, Double.POSITIVE_INFINITY),
                OverlongPenalty.KEY_FACTOR + " = Infinity");
    }

    @Test
    void keysAreTheDocumentedOnes() {
        assertEquals("eapo.algorithm.dapo.overlong.enabled", OverlongPenalty.KEY_ENABLED);
        assertEquals("eapo.algorithm.dapo.overlong.cache-length", OverlongPenalty.KEY_CACHE_LENGTH);
        assertEquals("eapo.algorithm.dapo.overlong.factor", OverlongPenalty.KEY_FACTOR);
    }

    private static void assertRefused(OverlongPenalty options, String expectedInMessage) {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class, options::validate);
        assertTrue(error.getMessage().contains(expectedInMessage), error.getMessage());
    }

    @Test
    void penaltiesOfABatchAreZeroWhenOffAndTheRampWhenOn() {
        int[] lengths = {10, 64, 72, 80};
        // L_max 80, L_cache 16: the ramp starts after 64 tokens.
        assertArrayEquals(new double[] {0, 0, -0.5, -1.0}, DEFAULTS.penalties(lengths, 80), TOLERANCE);
        assertArrayEquals(new double[4], new OverlongPenalty(false, 16, 1.0).penalties(lengths, 80));
    }

    @Test
    void aCacheAsLongAsTheLimitIsRefusedBeforeARunOnlyWhenThePenaltyIsOn() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DEFAULTS.requireFits(16));
        assertTrue(e.getMessage().contains("cache-length = 16 must be < the max length = 16"), e.getMessage());
        new OverlongPenalty(false, 16, 1.0).requireFits(16);
        DEFAULTS.requireFits(17);
    }
}
