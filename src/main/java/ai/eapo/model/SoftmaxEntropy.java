package ai.eapo.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * Entropy in nats of the next-token distribution {@code softmax(logits / temperature)}, the H_t that
 * {@code ai.eapo.algorithm.CriticalPointPolicy} compares with τ. Logits of −∞ (masked tokens) contribute
 * nothing. An NDArray operation of the model (the sampler records it per token), so it lives here and
 * {@code algorithm} and {@code training} call it.
 */
public final class SoftmaxEntropy {

    private SoftmaxEntropy() {
    }

    /** Entropy of softmax(logits / temperature) for one position; temperature must be &gt; 0. */
    public static double of(float[] logits, double temperature) {
        requirePositive(temperature);
        double max = Double.NEGATIVE_INFINITY;
        for (float logit : logits) {
            max = Math.max(max, logit / temperature);
        }
        if (max == Double.NEGATIVE_INFINITY) {
            throw new IllegalArgumentException("logits must contain at least one finite value");
        }
        // log Z and Σ e^{z−max}·z in one shifted pass: H = log Z − Σ p·z.
        double sumExp = 0.0;
        double sumExpTimesLogit = 0.0;
        for (float logit : logits) {
            double z = logit / temperature;
            if (z != Double.NEGATIVE_INFINITY) {
                double e = Math.exp(z - max);
                sumExp += e;
                sumExpTimesLogit += e * z;
            }
        }
        double logPartition = max + Math.log(sumExp);
        return Math.max(0.0, logPartition - sumExpTimesLogit / sumExp);
    }

    /**
     * Entropy of softmax(logits / temperature) along the last axis: logits of shape [..., V] give
     * entropies of shape [...], in the caller's manager (intermediates are freed).
     */
    public static NDArray ofRows(NDArray logits, double temperature) {
        requirePositive(temperature);
        NDManager owner = logits.getManager();
        try (NDManager scope = owner.newSubManager()) {
            scope.tempAttachAll(logits);
            NDArray entropy = ofLogProbs(logits.div(temperature).logSoftmax(-1));
            entropy.attach(owner);
            return entropy;
        }
    }

    private static void requirePositive(double temperature) {
        if (!(temperature > 0.0)) {
            throw new IllegalArgumentException("sampling temperature must be > 0, got " + temperature);
        }
    }

    /** Entropy of each row of log-probabilities [..., vocab], in the manager of {@code logProbs}. */
    public static NDArray ofLogProbs(NDArray logProbs) {
        // p·log p with log p = −∞ must count as 0, not NaN: clamp log p to the lowest finite float.
        NDArray plogp = logProbs.exp().mul(logProbs.maximum(-Float.MAX_VALUE));
        return plogp.sum(new int[] {-1}).neg();
    }
}
