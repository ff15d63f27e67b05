package ai.eapo.algorithm;

import ai.djl.ndarray.NDArray;

/**
 * Per-token inputs of {@link PolicyLoss} for B responses padded to L tokens. Every array is [B, L]
 * except {@code advantages}, which may also be [B, 1] (one advantage per response, broadcast).
 * All log-probs are of the token actually emitted at that position.
 *
 * @param logProbs log π_θ(a_t), the only input that carries a gradient; its dtype is the loss dtype
 * @param proximalLogProbs log π_prox(a_t), recomputed with the learner's weights at the start of the step
 * @param behaviourLogProbs log-prob under the distribution the token was drawn from (π_RL if
 *     resampled, else the sampler's π_old)
 * @param resampled 1 (or true) where the token was drawn from the prior π_RL
 * @param advantages A_i of the token's response
 * @param mask 1 (or true) on response tokens, 0 on prompt and padding
 * @param refLogProbs log π_ref(a_t), or null; required when the KL coefficient is &gt; 0
 * @param replayed 1 (or true) on the tokens of replayed trajectories (ExGRPO), whose behaviour log-probs are those of
 *     the past policy that made them; or null when there are none
 */
public record PolicyLossInputs(
        NDArray logProbs,
        NDArray proximalLogProbs,
        NDArray behaviourLogProbs,
        NDArray resampled,
        NDArray advantages,
        NDArray mask,
        NDArray refLogProbs,
        NDArray replayed) {

    /** Inputs without replayed trajectories. */
    public PolicyLossInputs(NDArray logProbs, NDArray proximalLogProbs, NDArray behaviourLogProbs, NDArray resampled,
                            NDArray advantages, NDArray mask, NDArray refLogProbs) {
        this(logProbs, proximalLogProbs, behaviourLogProbs, resampled, advantages, mask, refLogProbs, null);
    }
}
