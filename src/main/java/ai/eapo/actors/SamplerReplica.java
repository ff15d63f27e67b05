package ai.eapo.actors;

import ai.eapo.model.PolicyModel;
import ai.eapo.training.Knobs;

/**
 * What a Sampler keeps across a restart: its policy replica, the weight version and knobs loaded into it,
 * and its sequence-id counter (ids are never reused, so the prior never mistakes a new sequence for an old
 * one). Everything else a sampler holds is rebuilt, and its questions are re-issued.
 */
public final class SamplerReplica {

    /** Sampler number i owns sequence ids [i · 2^40, (i + 1) · 2^40). */
    private static final int ID_BITS = 40;

    final PolicyModel model;
    long version;
    Knobs knobs;
    private long nextSequenceId;

    public SamplerReplica(int index, PolicyModel model, Knobs knobs) {
        this.model = model;
        this.knobs = knobs;
        this.nextSequenceId = (long) index << ID_BITS;
    }

    /** The first of {@code count} fresh sequence ids. */
    long takeIds(int count) {
        long first = nextSequenceId;
        nextSequenceId += count;
        return first;
    }
}
