package ai.eapo.training;

import ai.djl.ndarray.NDArray;
import ai.eapo.model.PolicyModel;
import ai.eapo.model.Constants;

/**
 * Cross-entropy of target tokens (SFT): the mean negative log-likelihood over the positions where
 * {@code mask} is 1, scaled by {@code share} so micro-batch losses add up to the batch loss.
 */
public final class SupervisedLoss {

    private SupervisedLoss() {
    }

    /** ids, targets, mask: [B, L] (targets[t] is the token after ids[t]); mask is float 0/1. */
    public static NDArray of(PolicyModel model, NDArray ids, NDArray targets, NDArray mask, float tokensInBatch) {
        NDArray logProbs = model.tokenLogProbs(ids, targets, 1f);
        return Constants.divide(logProbs.mul(mask).sum().neg(), tokensInBatch);
    }
}
