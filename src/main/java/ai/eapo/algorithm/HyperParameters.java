package ai.eapo.algorithm;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigValueType;

/**
 * Every algorithm option, read from the {@code eapo.algorithm} block of the configuration (documented
 * with its defaults in {@code conf/application.conf}) and validated before any work starts.
 *
 * @param schedule α_0, T and the annealing shape
 * @param criticalPoints τ and the experience granularity
 * @param groupSize G, responses per prompt, ≥ 2 (a group std needs two rewards)
 * @param advantage advantage normalisation
 * @param loss the policy loss
 * @param optimizer AdamW and gradient clipping
 * @param strategies the sibling methods (ExGRPO, EXPO, DAPO's overlong penalty), each off by default
 */
public record HyperParameters(
        ExperienceSchedule schedule,
        CriticalPointPolicy criticalPoints,
        int groupSize,
        AdvantageOptions advantage,
        LossOptions loss,
        OptimizerOptions optimizer,
        Strategies strategies) {

    public static final String KEY_GROUP_SIZE = "eapo.algorithm.group-size";
    /** Spelling of +∞ accepted for τ, C and the gradient-norm clip. */
    public static final String INFINITY = "inf";

    /** Reads every {@code eapo.algorithm} key from {@code config} and validates the result. */
    public static HyperParameters fromConfig(Config config) {
        HyperParameters parameters;
        try {
            parameters = new HyperParameters(
                    new ExperienceSchedule(
                            config.getDouble(ExperienceSchedule.KEY_INITIAL_RATIO),
                            config.getLong(ExperienceSchedule.KEY_ANNEAL_STEPS),
                            NamedOption.parse(ScheduleShape.class, ExperienceSchedule.KEY_SHAPE,
                                    config.getString(ExperienceSchedule.KEY_SHAPE))),
                    new CriticalPointPolicy(extendedDouble(config, CriticalPointPolicy.KEY_ENTROPY_THRESHOLD),
                            NamedOption.parse(ExperienceGranularity.class, CriticalPointPolicy.KEY_GRANULARITY,
                                    config.getString(CriticalPointPolicy.KEY_GRANULARITY))),
                    config.getInt(KEY_GROUP_SIZE),
                    new AdvantageOptions(
                            NamedOption.parse(AdvantageNorm.class, AdvantageOptions.KEY_NORM,
                                    config.getString(AdvantageOptions.KEY_NORM)),
                            config.getDouble(AdvantageOptions.KEY_STD_EPSILON),
                            config.getBoolean(AdvantageOptions.KEY_DROP_UNIFORM_GROUPS),
                            config.getInt(AdvantageOptions.KEY_MAX_REFILLS),
                            config.getBoolean(AdvantageOptions.KEY_CORRECT_EXPERIENCE_ONLY)),
                    new LossOptions(
                            NamedOption.parse(ImportanceSamplingMode.class, LossOptions.KEY_IS_MODE,
                                    config.getString(LossOptions.KEY_IS_MODE)),
                            extendedDouble(config, LossOptions.KEY_IS_CAP),
                            config.getDouble(LossOptions.KEY_CLIP_LOW),
                            config.getDouble(LossOptions.KEY_CLIP_HIGH),
                            config.getDouble(LossOptions.KEY_KL_COEF),
                            NamedOption.parse(LossAggregation.class, LossOptions.KEY_AGGREGATION,
                                    config.getString(LossOptions.KEY_AGGREGATION)),
                            config.getDouble(LossOptions.KEY_SHAPING_GAMMA),
                            config.getDouble(LossOptions.KEY_REPLAY_SHAPING_BETA),
                            NamedOption.parse(MismatchCorrection.class, LossOptions.KEY_MISMATCH_CORRECTION,
                                    config.getString(LossOptions.KEY_MISMATCH_CORRECTION))),
                    new OptimizerOptions(
                            config.getDouble(OptimizerOptions.KEY_LEARNING_RATE),
                            config.getDouble(OptimizerOptions.KEY_BETA1),
                            config.getDouble(OptimizerOptions.KEY_BETA2),
                            config.getDouble(OptimizerOptions.KEY_WEIGHT_DECAY),
                            config.getDouble(OptimizerOptions.KEY_ADAM_EPSILON),
                            extendedDouble(config, OptimizerOptions.KEY_MAX_GRAD_NORM),
                            config.getInt(OptimizerOptions.KEY_MINI_BATCHES),
                            config.getInt(OptimizerOptions.KEY_EPOCHS)),
                    Strategies.fromConfig(config));
        } catch (ConfigException e) {
            // Missing key or wrong type: typesafe's message already names the key and its origin.
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        parameters.validate();
        return parameters;
    }

    /** @throws IllegalArgumentException naming the first offending key and value */
    public void validate() {
        OptionCheck.requirePresent(schedule, "eapo.algorithm.experience");
        OptionCheck.requirePresent(criticalPoints, CriticalPointPolicy.KEY_ENTROPY_THRESHOLD);
        OptionCheck.requirePresent(advantage, "eapo.algorithm.advantage");
        OptionCheck.requirePresent(loss, "eapo.algorithm.loss");
        OptionCheck.requirePresent(optimizer, "eapo.algorithm.optimizer");
        schedule.validate();
        criticalPoints.validate();
        OptionCheck.require(groupSize >= 2, KEY_GROUP_SIZE, groupSize, "must be >= 2 (a group std needs two rewards)");
        advantage.validate();
        loss.validate();
        optimizer.validate();
        strategies.validate();
        refuseCombinationsThatDoNotFit();
    }

    /**
     * Whether the run uses EAPO's experience (α_0 > 0) and so loads a prior; a run without cannot turn it on
     * later, one with may anneal it, or set it, to 0.
     */
    public boolean usesExperience() {
        return schedule.initialRatio() > 0;
    }

    /** Whether a step needs the frozen reference policy: a fixed or an accuracy-conditioned KL penalty. */
    public boolean needsReference() {
        return loss.klCoef() > 0 || strategies.adaptiveKl().enabled();
    }

    /** The strategies combine freely except where two would fight over the same thing. */
    private void refuseCombinationsThatDoNotFit() {
        OptionCheck.require(!(strategies.adaptiveKl().enabled() && loss.klCoef() > 0), LossOptions.KEY_KL_COEF,
                loss.klCoef(), "must be 0 when " + AdaptiveKl.KEY_ENABLED + " = true (EXPO sets the KL coefficient "
                        + "from the batch accuracy; set the largest value with " + AdaptiveKl.KEY_BETA_MAX + ")");
        if (strategies.exgrpo().enabled()) {
            OptionCheck.require(schedule.initialRatio() == 0, ExperienceSchedule.KEY_INITIAL_RATIO,
                    schedule.initialRatio(), "must be 0 when " + ReplayOptions.KEY_ENABLED + " = true: ExGRPO replays "
                            + "whole past trajectories and EAPO injects a prior's tokens; run one experience method at a time");
            OptionCheck.require(!advantage.dropUniformGroups(), AdvantageOptions.KEY_DROP_UNIFORM_GROUPS, true,
                    "cannot be combined with " + ReplayOptions.KEY_ENABLED + " = true: an experiential group holds a "
                            + "replayed trajectory, so refilling it with another problem would lose it");
        }
    }

    /** A number, or {@value #INFINITY} for +∞. */
    private static double extendedDouble(Config config, String key) {
        if (config.getValue(key).valueType() == ConfigValueType.STRING && INFINITY.equals(config.getString(key))) {
            return Double.POSITIVE_INFINITY;
        }
        return config.getDouble(key);
    }
}
