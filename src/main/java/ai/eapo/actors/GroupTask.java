package ai.eapo.actors;

import ai.eapo.algorithm.RolloutPlan;
import ai.eapo.data.ProblemSet;

/**
 * One question to be answered: question {@code question} of learner step {@code step}'s plan, which is problem
 * {@code problemId} of the training data, sampled {@code rollouts} times (the group size G, or G − 1 when the
 * group's last member is a replayed trajectory) as its step's {@code plan} says. A task re-issued after its sampler
 * died gets the next {@code attempt}, so a group never mixes responses of two attempts; a task whose group had no
 * learning signal can be refilled with another problem in its place (DAPO dynamic sampling), counted by
 * {@code refills}.
 */
public record GroupTask(long step, int question, int problemId, ProblemSet.Problem problem, int rollouts,
                        RolloutPlan plan, int attempt, int refills) implements CborSerializable {

    /** Identifies the question across attempts. */
    public record Key(long step, int question) implements CborSerializable {
    }

    /** A question's first attempt. */
    public static GroupTask first(long step, int question, int problemId, ProblemSet.Problem problem, int rollouts,
                                  RolloutPlan plan) {
        return new GroupTask(step, question, problemId, problem, rollouts, plan, 0, 0);
    }

    public Key key() {
        return new Key(step, question);
    }

    /** The same question, handed out again. */
    public GroupTask nextAttempt() {
        return new GroupTask(step, question, problemId, problem, rollouts, plan, attempt + 1, refills);
    }

    /** Another problem in this question's place, as a new attempt. */
    public GroupTask refilledWith(int otherId, ProblemSet.Problem other) {
        return new GroupTask(step, question, otherId, other, rollouts, plan, attempt + 1, refills + 1);
    }

    /** The same task sampled under {@code current} (its step's plan changed with the knobs before it was handed out). */
    public GroupTask under(RolloutPlan current) {
        return new GroupTask(step, question, problemId, problem, rollouts, current, attempt, refills);
    }
}
