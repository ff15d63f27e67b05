package ai.eapo.actors;

import ai.eapo.data.ProblemSet;

/**
 * One question to be answered G times: question {@code question} of learner step {@code step}'s batch. A
 * task re-issued after its sampler died gets the next {@code attempt}, so a group never mixes responses of
 * two attempts.
 */
public record GroupTask(long step, int question, ProblemSet.Problem problem, int attempt) implements CborSerializable {

    /** Identifies the question across attempts. */
    public record Key(long step, int question) implements CborSerializable {
    }

    public Key key() {
        return new Key(step, question);
    }

    /** The same question, handed out again. */
    public GroupTask nextAttempt() {
        return new GroupTask(step, question, problem, attempt + 1);
    }
}
