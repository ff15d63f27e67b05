package ai.eapo.algorithm;

import com.typesafe.config.Config;

/**
 * The sibling methods of EAPO (spec section 5) as switches on the same pipeline: ExGRPO experience replay, EXPO's
 * accuracy-conditioned KL and Gaussian curriculum, and DAPO's overlong penalty (DAPO's dynamic sampling and
 * clip-higher are advantage and loss options). Each is off by default.
 */
public record Strategies(ReplayOptions exgrpo, AdaptiveKl adaptiveKl, CurriculumOptions curriculum,
                         OverlongPenalty overlong) {

    /** Reads the {@code eapo.algorithm.exgrpo / expo / dapo} blocks (typesafe ConfigException on a missing key). */
    static Strategies fromConfig(Config config) {
        return new Strategies(ReplayOptions.fromConfig(config),
                new AdaptiveKl(config.getBoolean(AdaptiveKl.KEY_ENABLED), config.getDouble(AdaptiveKl.KEY_BETA_MAX),
                        config.getDouble(AdaptiveKl.KEY_STEEPNESS), config.getDouble(AdaptiveKl.KEY_MIDPOINT)),
                new CurriculumOptions(config.getBoolean(CurriculumOptions.KEY_ENABLED),
                        config.getDouble(CurriculumOptions.KEY_MEAN), config.getDouble(CurriculumOptions.KEY_SIGMA),
                        config.getDouble(CurriculumOptions.KEY_SMOOTHING),
                        config.getDouble(CurriculumOptions.KEY_UNSEEN_ACCURACY)),
                new OverlongPenalty(config.getBoolean(OverlongPenalty.KEY_ENABLED),
                        config.getInt(OverlongPenalty.KEY_CACHE_LENGTH), config.getDouble(OverlongPenalty.KEY_FACTOR)));
    }

    /** @throws IllegalArgumentException naming the first offending key and value */
    void validate() {
        exgrpo.validate();
        adaptiveKl.validate();
        curriculum.validate();
        overlong.validate();
    }
}
