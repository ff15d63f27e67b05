package ai.eapo.actors;

import ai.eapo.data.ProblemSet;

/**
 * One question to be answered: question {@code question} of learner step {@code step}'s batch, which is problem
 * {@code problemId} of the training data, sampled {@code rollouts} times (the group size G, or G − 1 when the
 * group's last member is a replayed trajectory). A task re-issued after its sampler died gets the next
 * {@code attempt}, so a group never mixes responses of two attempts; a task whose group had no learning signal
 * can be refilled with another problem in its place (DAPO dynamic sampling), counted by {@code refills}.
 */
public record GroupTask(long step, int question, int problemId, ProblemSet.Problem problem, int rollouts, int attempt,
                        int refills) implements CborSerializable {

    /** Identifies the question across attempts. */
    public record Key(long step, int question) implements CborSerializable {
    }

    /** A question's first attempt. */
    public static GroupTask first(long step, int question, int problemId, ProblemSet.Problem problem, int rollouts) {
        return new GroupTask(step, question, problemId, problem, rollouts, 0, 0);
    }

    public Key key() {
        return new Key(step, question);
    }

    /** The same question, handed out again. */
    public GroupTask nextAttempt() {
        return new GroupTask(step, question, problemId, problem, rollouts, attempt + 1, refills);
    }

    /** Another problem in this question's place, as a new attempt. */
    public GroupTask refilledWith(int otherId, ProblemSet.Problem other) {
        return new GroupTask(step, question, otherId, other, rollouts, attempt + 1, refills + 1);
    }
}
