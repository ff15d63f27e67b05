package ai.eapo.algorithm;

import java.util.List;

/**
 * Everything decided for one learner step before it is sampled, by the learner's side ({@link StepPlanner}):
 * which questions (the dataset's order, EXPO's curriculum, ExGRPO's replayed questions), with their
 * refills should DAPO's dynamic sampling drop them, and how they are sampled ({@link RolloutPlan}: α_k, τ,
 * the weight version they need). The PromptSource, the samplers and the Grouper only read it. The KL coefficient
 * is not in it: EXPO's β depends on the step's accuracy, known after sampling (see
 * {@link StepPlanner#klCoefficient}).
 *
 * @param step the learner step
 * @param questions the step's questions, in order (their place is the question number)
 * @param rollouts how they are sampled
 */
public record StepPlan(long step, List<Question> questions, RolloutPlan rollouts) {

    /**
     * One question of the step: problem {@code problemId} of the training data, answered {@code rollouts} times (G,
     * or G − 1 for an ExGRPO question, whose group the learner completes with a replayed trajectory);
     * {@code refills.get(r)} is the problem that takes its place at its (r + 1)-th refill.
     */
    public record Question(int problemId, int rollouts, List<Integer> refills) {
    }

    public StepPlan {
        questions = List.copyOf(questions);
    }

    /** The same questions sampled under {@code other} rules (the knobs changed before they were all handed out). */
    public StepPlan withRollouts(RolloutPlan other) {
        return new StepPlan(step, questions, other);
    }
}
