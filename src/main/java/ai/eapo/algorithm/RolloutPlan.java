package ai.eapo.algorithm;

/**
 * How the questions of one learner step are sampled, decided by the learner's side ({@link StepPlanner}) and read
 * by the samplers and the Grouper, which decide nothing of their own.
 *
 * @param experienceResponses m = round(α_k · G): slots 0 .. m − 1 of every group are experience responses
 *                            (the prior writes their critical tokens); 0 in a run without a prior
 * @param criticalPoints where an experience response consults the prior (τ)
 * @param minWeightVersion a question starts only on weights of at least this version: step − max-staleness, and at
 *                         least the run's first weights (a replica not loaded yet is version −1)
 * @param refillsAllowed how many times a group without learning signal is replaced by another problem (DAPO
 *                       dynamic sampling; 0 when off)
 */
public record RolloutPlan(int experienceResponses, CriticalPointPolicy criticalPoints, long minWeightVersion,
                          int refillsAllowed) {

    /** The rollout plan of learner step {@code step} under {@code hyper} (the knobs applied). */
    public static RolloutPlan of(HyperParameters hyper, long step, int maxStaleness) {
        AdvantageOptions advantage = hyper.advantage();
        return new RolloutPlan(hyper.schedule().experienceCount(step, hyper.groupSize()), hyper.criticalPoints(),
                Math.max(0, step - maxStaleness), advantage.dropUniformGroups() ? advantage.maxRefills() : 0);
    }

    /**
     * Whether a complete group is dropped and its question refilled with another problem: it carries no learning
     * signal and has been refilled fewer times than allowed (DAPO dynamic sampling).
     */
    public boolean refills(boolean withoutSignal, int refillsSoFar) {
        return withoutSignal && refillsSoFar < refillsAllowed;
    }
}
