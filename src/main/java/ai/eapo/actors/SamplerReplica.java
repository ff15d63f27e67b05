package ai.eapo.actors;

import ai.eapo.model.PolicyModel;

/**
 * What a Sampler keeps across a restart: its policy replica, the weight version loaded into it,
 * and its sequence-id counter (ids are never reused, so the prior never mistakes a new sequence for an old
 * one). Everything else a sampler holds is rebuilt, and its questions are re-issued.
 */
public final class SamplerReplica {

    /** The version of a replica whose weights are not (known to be) any learner version yet. */
    public static final long UNLOADED = -1;

    /** Sampler number i owns sequence ids [i · 2^40, (i + 1) · 2^40). */
    private static final int ID_BITS = 40;

    final PolicyModel model;
    long version;
    private final int index;
    private long nextSequenceId;

    /** {@code version}: the learner version the model's weights are, or {@link #UNLOADED}. */
    public SamplerReplica(int index, PolicyModel model, long version) {
        this.index = index;
        this.model = model;
        this.version = version;
        this.nextSequenceId = (long) index << ID_BITS;
    }

    int index() {
        return index;
    }

    /** Forgets which version is loaded: the sampler will load the learner's current one before sampling. */
    void markUnloaded() {
        version = UNLOADED;
    }

    /** The first of {@code count} fresh sequence ids. */
    long takeIds(int count) {
        long first = nextSequenceId;
        nextSequenceId += count;
        return first;
    }
}
