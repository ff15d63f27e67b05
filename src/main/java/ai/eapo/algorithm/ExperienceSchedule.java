package ai.eapo.algorithm;

/**
 * The share of experience responses per group at learner step k: {@code α_k = α_0 · s(k / T)}.
 *
 * <p>When T = 0 the annealing period is empty, so it is already over at step 0: linear and cosine
 * give α = 0 from the first step (plain GRPO), while {@link ScheduleShape#CONSTANT} keeps α_0 forever
 * (that shape is how "never anneal" is written).
 *
 * @param initialRatio α_0 in [0, 1]
 * @param annealSteps T ≥ 0, learner steps until α reaches 0 (live knob)
 * @param shape s
 */
public record ExperienceSchedule(double initialRatio, long annealSteps, ScheduleShape shape) {

    public static final String KEY_INITIAL_RATIO = "eapo.algorithm.experience.initial-ratio";
    public static final String KEY_ANNEAL_STEPS = "eapo.algorithm.experience.anneal-steps";
    public static final String KEY_SHAPE = "eapo.algorithm.experience.shape";

    /** @throws IllegalArgumentException naming the offending key and value */
    public void validate() {
        OptionCheck.require(initialRatio >= 0.0 && initialRatio <= 1.0, KEY_INITIAL_RATIO, initialRatio,
                "must be in [0, 1]");
        OptionCheck.require(annealSteps >= 0, KEY_ANNEAL_STEPS, annealSteps, "must be >= 0");
        OptionCheck.requirePresent(shape, KEY_SHAPE);
    }

    /** α_k for learner step k ≥ 0. */
    public double ratioAt(long step) {
        if (step < 0) {
            throw new IllegalArgumentException("learner step must be >= 0, got " + step);
        }
        double progress = annealSteps == 0 ? Double.POSITIVE_INFINITY : (double) step / annealSteps;
        return initialRatio * shape.factor(progress);
    }

    /** m = round(α_k · G), the number of experience responses in a group of size G (half rounds up). */
    public int experienceCount(long step, int groupSize) {
        if (groupSize < 0) {
            throw new IllegalArgumentException("group size must be >= 0, got " + groupSize);
        }
        return (int) Math.round(ratioAt(step) * groupSize);
    }
}
