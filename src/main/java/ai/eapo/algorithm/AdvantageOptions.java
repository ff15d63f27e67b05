package ai.eapo.algorithm;

/**
 * How group rewards become advantages.
 *
 * @param norm {@code advantage.norm}, default {@code std}
 * @param stdEpsilon added to the std before dividing, default 1e-6 (keeps uniform groups finite)
 * @param dropUniformGroups DAPO dynamic sampling: groups whose rewards are all equal carry no
 *     signal and are dropped and refilled, default false
 * @param maxRefills with dynamic sampling, how many times a question whose group is uniform is replaced by another
 *     problem; a group still uniform after that is dropped from the batch, default 4
 * @param correctExperienceOnly keep only the correct experience responses in a group (the
 *     paper's "Pos-Only", Figure 3a): the incorrect ones take no part in the baseline and get no loss, default false
 */
public record AdvantageOptions(AdvantageNorm norm, double stdEpsilon, boolean dropUniformGroups, int maxRefills,
                               boolean correctExperienceOnly) {

    public static final String KEY_NORM = "eapo.algorithm.advantage.norm";
    public static final String KEY_STD_EPSILON = "eapo.algorithm.advantage.std-epsilon";
    public static final String KEY_DROP_UNIFORM_GROUPS = "eapo.algorithm.advantage.drop-uniform-groups";
    public static final String KEY_MAX_REFILLS = "eapo.algorithm.advantage.max-refills";
    public static final String KEY_CORRECT_EXPERIENCE_ONLY = "eapo.algorithm.advantage.correct-experience-only";

    /** @throws IllegalArgumentException naming the offending key and value */
    public void validate() {
        OptionCheck.requirePresent(norm, KEY_NORM);
        OptionCheck.require(stdEpsilon > 0.0 && Double.isFinite(stdEpsilon), KEY_STD_EPSILON, stdEpsilon,
                "must be a finite number > 0");
        OptionCheck.require(maxRefills >= 0, KEY_MAX_REFILLS, maxRefills, "must be >= 0");
    }
}
