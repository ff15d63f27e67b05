package ai.eapo.model;

import java.util.List;

/**
 * The frozen prior π_RL that experience sequences consult at critical positions. Consultation is
 * batched: one call per decode step carries every sequence that needs the prior at that step. The actor
 * version (PriorPolicy) answers the same questions across the cluster.
 */
public interface ExperiencePrior {

    /** A sequence asking for the prior's next token: its whole token history and a uniform number for the draw. */
    record Consultation(long sequenceId, long[] tokens, double uniform) {
    }

    /**
     * The prior's token, its log-probability under the distribution it was drawn from (the prior after temperature,
     * renormalised over what top-p / top-k kept) and that kept mass (1 when nothing was cut).
     */
    record Draw(long token, float logProb, float keptMass) {
    }

    /** Answers every consultation, in order. */
    List<Draw> consult(List<Consultation> consultations);

    /** The sequence has finished: whatever the prior keeps for it can go. */
    void release(long sequenceId);
}
