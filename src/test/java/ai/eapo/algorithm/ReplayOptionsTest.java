package ai.eapo.algorithm;

import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** ExGRPO options: validation names key and value, and config reading (the replay's loss shaping is a LossOptions key). */
class ReplayOptionsTest {

    /** The values the spec gives (ρ = 0.5, start 0.35, μ = 0.5, σ = 1) and the buffer caps. */
    static final String VALID = "eapo.algorithm.exgrpo { enabled = true, ratio = 0.5,"
            + " start-accuracy = 0.35, sampling { mean = 0.5, sigma = 1.0 }, max-per-question = 4,"
            + " max-questions = 4096 }";

    static ReplayOptions read(String override) {
        return ReplayOptions.fromConfig(ConfigFactory.parseString(override)
                .withFallback(ConfigFactory.parseString(VALID)).resolve());
    }

    @Test
    void readsEveryKey() {
        ReplayOptions options = read("");
        assertEquals(new ReplayOptions(true, 0.5, 0.35, 0.5, 1.0, 4, 4096), options);
        assertDoesNotThrow(options::validate);
    }

    @Test
    void shippedDefaultsAreValidAndMatchTheSpec() {
        ReplayOptions defaults = ReplayOptions.fromConfig(ConfigFactory.parseResources("application.conf").resolve());
        assertEquals(new ReplayOptions(false, 0.5, 0.35, 0.5, 1.0, 4, 4096), defaults);
    }

    @Test
    void missingKeyIsNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ReplayOptions.fromConfig(ConfigFactory.parseString(VALID)
                        .withoutPath(ReplayOptions.KEY_SAMPLING_SIGMA)));
        assertTrue(e.getMessage().contains(ReplayOptions.KEY_SAMPLING_SIGMA), e.getMessage());
    }

    @Test
    void boundaryValuesAreValid() {
        assertDoesNotThrow(() -> read("eapo.algorithm.exgrpo { start-accuracy = 0, sampling.mean = 1,"
                + " max-per-question = 1, max-questions = 1, ratio = 0.001 }"));
        assertDoesNotThrow(() -> read("eapo.algorithm.exgrpo { start-accuracy = 1, sampling.mean = 0 }"));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "eapo.algorithm.exgrpo.ratio = 0                | eapo.algorithm.exgrpo.ratio = 0.0",
        "eapo.algorithm.exgrpo.ratio = 1                | eapo.algorithm.exgrpo.ratio = 1.0",
        "eapo.algorithm.exgrpo.start-accuracy = 1.5     | eapo.algorithm.exgrpo.start-accuracy = 1.5",
        "eapo.algorithm.exgrpo.start-accuracy = -0.01   | eapo.algorithm.exgrpo.start-accuracy = -0.01",
        "eapo.algorithm.exgrpo.sampling.mean = 1.2      | eapo.algorithm.exgrpo.sampling.mean = 1.2",
        "eapo.algorithm.exgrpo.sampling.sigma = 0       | eapo.algorithm.exgrpo.sampling.sigma = 0.0",
        "eapo.algorithm.exgrpo.max-per-question = 0     | eapo.algorithm.exgrpo.max-per-question = 0",
        "eapo.algorithm.exgrpo.max-questions = -3       | eapo.algorithm.exgrpo.max-questions = -3",
    })
    void invalidValueIsNamedWithItsKey(String override, String expectedPrefix) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> read(override));
        assertTrue(e.getMessage().startsWith(expectedPrefix + ": "), e.getMessage());
    }

    @Test
    void validateRejectsNonFiniteWidthAndRatio() {
        IllegalArgumentException sigma = assertThrows(IllegalArgumentException.class,
                () -> new ReplayOptions(false, 0.5, 0.35, 0.5, Double.POSITIVE_INFINITY, 4, 4096).validate());
        assertEquals(ReplayOptions.KEY_SAMPLING_SIGMA + " = Infinity: must be a finite number > 0", sigma.getMessage());
        IllegalArgumentException ratio = assertThrows(IllegalArgumentException.class,
                () -> new ReplayOptions(false, Double.NaN, 0.35, 0.5, 1.0, 4, 4096).validate());
        assertEquals(ReplayOptions.KEY_RATIO + " = NaN: must be in (0, 1)", ratio.getMessage());
    }
}
