package ai.eapo.algorithm;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;

/**
 * Options of ExGRPO's experience replay (spec §5, {@code exgrpo-*.txt} §4): which questions are replayed,
 * how many, from when, and how many are kept. The shaping of the replayed trajectory's loss is a loss option
 * ({@link LossOptions#replayShapingBeta()}). Defaults live in {@code conf/application.conf}, not here.
 *
 * @param enabled replay experience at all (ExGRPO instead of plain GRPO), default false
 * @param ratio ρ in (0, 1), the share of a step's questions that are experiential (replayed), default 0.5
 * @param startAccuracy in [0, 1]: replay starts once a step's batch Pass@1 exceeds it (delayed start, so the
 *     buffer is not filled from the weakest early policy), default 0.35
 * @param samplingMean μ in [0, 1], the accuracy the question sampling favours (medium difficulty), default 0.5
 * @param samplingSigma σ &gt; 0, the width of the Gaussian question-sampling weight, default 1.0
 * @param maxPerQuestion stored correct trajectories kept per question, ≥ 1 (newest kept), default 4
 * @param maxQuestions questions holding trajectories in the buffer, ≥ 1 (bounds the Learner's memory), default 4096
 */
public record ReplayOptions(
        boolean enabled,
        double ratio,
        double startAccuracy,
        double samplingMean,
        double samplingSigma,
        int maxPerQuestion,
        int maxQuestions) {

    public static final String KEY_ENABLED = "eapo.algorithm.exgrpo.enabled";
    public static final String KEY_RATIO = "eapo.algorithm.exgrpo.ratio";
    public static final String KEY_START_ACCURACY = "eapo.algorithm.exgrpo.start-accuracy";
    public static final String KEY_SAMPLING_MEAN = "eapo.algorithm.exgrpo.sampling.mean";
    public static final String KEY_SAMPLING_SIGMA = "eapo.algorithm.exgrpo.sampling.sigma";
    public static final String KEY_MAX_PER_QUESTION = "eapo.algorithm.exgrpo.max-per-question";
    public static final String KEY_MAX_QUESTIONS = "eapo.algorithm.exgrpo.max-questions";

    /**
     * Reads every {@code eapo.algorithm.exgrpo} key from {@code config} (which must hold them all: the
     * defaults come from {@code conf/application.conf}) and validates the result.
     *
     * @throws IllegalArgumentException naming the missing or offending key
     */
    public static ReplayOptions fromConfig(Config config) {
        ReplayOptions options;
        try {
            options = new ReplayOptions(
                    config.getBoolean(KEY_ENABLED),
                    config.getDouble(KEY_RATIO),
                    config.getDouble(KEY_START_ACCURACY),
                    config.getDouble(KEY_SAMPLING_MEAN),
                    config.getDouble(KEY_SAMPLING_SIGMA),
                    config.getInt(KEY_MAX_PER_QUESTION),
                    config.getInt(KEY_MAX_QUESTIONS));
        } catch (ConfigException e) {
            // Missing key or wrong type: typesafe's message already names the key and its origin.
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        options.validate();
        return options;
    }

    /** @throws IllegalArgumentException naming the offending key and value */
    public void validate() {
        OptionCheck.require(ratio > 0.0 && ratio < 1.0, KEY_RATIO, ratio, "must be in (0, 1)");
        OptionCheck.require(startAccuracy >= 0.0 && startAccuracy <= 1.0, KEY_START_ACCURACY, startAccuracy,
                "must be in [0, 1]");
        OptionCheck.require(samplingMean >= 0.0 && samplingMean <= 1.0, KEY_SAMPLING_MEAN, samplingMean,
                "must be in [0, 1]");
        OptionCheck.require(samplingSigma > 0.0 && Double.isFinite(samplingSigma), KEY_SAMPLING_SIGMA,
                samplingSigma, "must be a finite number > 0");
        OptionCheck.require(maxPerQuestion >= 1, KEY_MAX_PER_QUESTION, maxPerQuestion, "must be >= 1");
        OptionCheck.require(maxQuestions >= 1, KEY_MAX_QUESTIONS, maxQuestions, "must be >= 1");
    }
}
