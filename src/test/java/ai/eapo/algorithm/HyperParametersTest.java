package ai.eapo.algorithm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class HyperParametersTest {

    /** conf/application.conf, shipped on the class path. */
    private static final Config DEFAULTS = ConfigFactory.parseResources("application.conf");

    private static HyperParameters with(String override) {
        return HyperParameters.fromConfig(ConfigFactory.parseString(override).withFallback(DEFAULTS).resolve());
    }

    @Test
    void shippedDefaultsAreValidAndMatchTheSpec() {
        HyperParameters defaults = HyperParameters.fromConfig(DEFAULTS.resolve());
        assertEquals(ScheduleShape.LINEAR, defaults.schedule().shape());
        assertEquals(ImportanceSamplingMode.TRUNCATED, defaults.loss().isMode());
        assertEquals(2.0, defaults.loss().isCap());
        assertEquals(0.2, defaults.loss().clipLow());
        assertEquals(0.28, defaults.loss().clipHigh());
        assertEquals(0.0, defaults.loss().klCoef());
        assertEquals(LossAggregation.TOKEN_MEAN, defaults.loss().aggregation());
        assertEquals(0.1, defaults.loss().shapingGamma());
        assertEquals(AdvantageNorm.STD, defaults.advantage().norm());
        assertEquals(1e-6, defaults.advantage().stdEpsilon());
        assertEquals(ExperienceGranularity.TOKEN, defaults.criticalPoints().granularity());
        assertFalse(defaults.advantage().correctExperienceOnly());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "expo.kl.enabled = true, kl.coef = 0.01                          | eapo.algorithm.kl.coef = 0.01: must be 0 when eapo.algorithm.expo.kl.enabled",
        "exgrpo.enabled = true                                          | eapo.algorithm.experience.initial-ratio = 0.5: must be 0 when eapo.algorithm.exgrpo.enabled",
        "exgrpo.enabled = true, experience.initial-ratio = 0, advantage.drop-uniform-groups = true | eapo.algorithm.advantage.drop-uniform-groups = true: cannot be combined",
    })
    void combinationsThatFightAreRefusedNamingBothSettings(String overrides, String expected) {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> with("eapo.algorithm { " + overrides + " }"));
        assertTrue(error.getMessage().startsWith(expected.trim()), error.getMessage());
    }

    @Test
    void strategiesThatFitTogetherAreAccepted() {
        HyperParameters eapoWithCurriculumAndAdaptiveKl = with("eapo.algorithm { expo { curriculum.enabled = true, "
                + "kl.enabled = true }, dapo.overlong.enabled = true, advantage.drop-uniform-groups = true }");
        assertTrue(eapoWithCurriculumAndAdaptiveKl.needsReference());
        assertTrue(eapoWithCurriculumAndAdaptiveKl.schedule().initialRatio() > 0);
        HyperParameters exgrpo = with("eapo.algorithm { exgrpo.enabled = true, experience.initial-ratio = 0, "
                + "expo.curriculum.enabled = true }");
        assertFalse(exgrpo.needsReference());
    }

    @Test
    void trajectoryGranularityAndCorrectOnlyExperienceAreRead() {
        HyperParameters parameters = with(
                "eapo.algorithm { experience.granularity = trajectory, advantage.correct-experience-only = true }");
        assertEquals(ExperienceGranularity.TRAJECTORY, parameters.criticalPoints().granularity());
        assertTrue(parameters.advantage().correctExperienceOnly());
    }

    @Test
    void infinitySpellingIsAcceptedForThresholdAndCap() {
        HyperParameters parameters = with("eapo.algorithm { experience.entropy-threshold = inf, is.cap = inf }");
        assertEquals(Double.POSITIVE_INFINITY, parameters.criticalPoints().entropyThreshold());
        assertEquals(Double.POSITIVE_INFINITY, parameters.loss().isCap());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "eapo.algorithm.experience.entropy-threshold = -0.5 | eapo.algorithm.experience.entropy-threshold = -0.5",
        "eapo.algorithm.experience.anneal-steps = -1        | eapo.algorithm.experience.anneal-steps = -1",
        "eapo.algorithm.experience.initial-ratio = 1.2      | eapo.algorithm.experience.initial-ratio = 1.2",
        "eapo.algorithm.experience.initial-ratio = -0.1     | eapo.algorithm.experience.initial-ratio = -0.1",
        "eapo.algorithm.experience.shape = exponential      | eapo.algorithm.experience.shape = exponential",
        "eapo.algorithm.experience.granularity = sentence   | eapo.algorithm.experience.granularity = sentence",
        "eapo.algorithm.group-size = 1                      | eapo.algorithm.group-size = 1",
        "eapo.algorithm.is.cap = 0                          | eapo.algorithm.is.cap = 0.0",
        "eapo.algorithm.is.mode = clipped                   | eapo.algorithm.is.mode = clipped",
        "eapo.algorithm.clip.low = 1.0                      | eapo.algorithm.clip.low = 1.0",
        "eapo.algorithm.clip.high = -0.1                    | eapo.algorithm.clip.high = -0.1",
        "eapo.algorithm.kl.coef = -1                        | eapo.algorithm.kl.coef = -1.0",
        "eapo.algorithm.loss.agg = seq-mean                 | eapo.algorithm.loss.agg = seq-mean",
        "eapo.algorithm.shaping.gamma = 0                   | eapo.algorithm.shaping.gamma = 0.0",
        "eapo.algorithm.exgrpo.shaping-beta = -0.1          | eapo.algorithm.exgrpo.shaping-beta = -0.1",
        "eapo.algorithm.expo.kl.beta-max = -1               | eapo.algorithm.expo.kl.beta-max = -1.0",
        "eapo.algorithm.expo.curriculum.sigma = 0           | eapo.algorithm.expo.curriculum.sigma = 0.0",
        "eapo.algorithm.dapo.overlong.cache-length = 0      | eapo.algorithm.dapo.overlong.cache-length = 0",
        "eapo.algorithm.advantage.max-refills = -1          | eapo.algorithm.advantage.max-refills = -1",
        "eapo.algorithm.advantage.norm = mad                | eapo.algorithm.advantage.norm = mad",
        "eapo.algorithm.optimizer.lr = 0                    | eapo.algorithm.optimizer.lr = 0.0",
        "eapo.algorithm.optimizer.beta2 = 1                 | eapo.algorithm.optimizer.beta2 = 1.0",
    })
    void invalidValueIsRefusedNamingKeyAndValue(String override, String expectedInMessage) {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class, () -> with(override));
        assertTrue(error.getMessage().contains(expectedInMessage.trim()), error.getMessage());
    }

    @Test
    void wrongTypeIsRefusedNamingTheKey() {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> with("eapo.algorithm.is.cap = lots"));
        assertTrue(error.getMessage().contains("is.cap"), error.getMessage());
    }
}
