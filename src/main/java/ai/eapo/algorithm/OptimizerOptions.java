package ai.eapo.algorithm;

/**
 * AdamW, gradient clipping and the optimizer steps per batch for the learner step (spec section 4).
 *
 * @param learningRate lr (live knob)
 * @param beta1 AdamW β1 in [0, 1)
 * @param beta2 AdamW β2 in [0, 1)
 * @param weightDecay decoupled weight decay ≥ 0
 * @param adamEpsilon ε added to AdamW's denominator, &gt; 0
 * @param maxGradNorm global gradient-norm clip, &gt; 0 (inf: no clipping)
 * @param miniBatches M ≥ 1: each batch is split into M mini-batches, one optimizer step each (verl's
 *     ppo_mini_batch_size = batch / M); 1 = one step per batch
 * @param epochs E ≥ 1: passes over the batch's mini-batches (PPO epochs)
 */
public record OptimizerOptions(double learningRate, double beta1, double beta2, double weightDecay,
        double adamEpsilon, double maxGradNorm, int miniBatches, int epochs) {

    public static final String KEY_LEARNING_RATE = "eapo.algorithm.optimizer.lr";
    public static final String KEY_BETA1 = "eapo.algorithm.optimizer.beta1";
    public static final String KEY_BETA2 = "eapo.algorithm.optimizer.beta2";
    public static final String KEY_WEIGHT_DECAY = "eapo.algorithm.optimizer.weight-decay";
    public static final String KEY_ADAM_EPSILON = "eapo.algorithm.optimizer.epsilon";
    public static final String KEY_MAX_GRAD_NORM = "eapo.algorithm.optimizer.max-grad-norm";
    public static final String KEY_MINI_BATCHES = "eapo.algorithm.optimizer.mini-batches";
    public static final String KEY_EPOCHS = "eapo.algorithm.optimizer.epochs";

    /** @throws IllegalArgumentException naming the offending key and value */
    public void validate() {
        OptionCheck.require(learningRate > 0.0 && Double.isFinite(learningRate), KEY_LEARNING_RATE, learningRate,
                "must be a finite number > 0");
        OptionCheck.require(beta1 >= 0.0 && beta1 < 1.0, KEY_BETA1, beta1, "must be in [0, 1)");
        OptionCheck.require(beta2 >= 0.0 && beta2 < 1.0, KEY_BETA2, beta2, "must be in [0, 1)");
        OptionCheck.require(weightDecay >= 0.0 && Double.isFinite(weightDecay), KEY_WEIGHT_DECAY, weightDecay,
                "must be a finite number >= 0");
        OptionCheck.require(adamEpsilon > 0.0 && Double.isFinite(adamEpsilon), KEY_ADAM_EPSILON, adamEpsilon,
                "must be a finite number > 0");
        OptionCheck.require(maxGradNorm > 0.0, KEY_MAX_GRAD_NORM, maxGradNorm, "must be > 0 (inf: no clipping)");
        OptionCheck.require(miniBatches >= 1, KEY_MINI_BATCHES, miniBatches, "must be >= 1");
        OptionCheck.require(epochs >= 1, KEY_EPOCHS, epochs, "must be >= 1");
    }

    /** These options with another learning rate (a live knob), validated. */
    public OptimizerOptions withLearningRate(double rate) {
        OptimizerOptions changed = new OptimizerOptions(rate, beta1, beta2, weightDecay, adamEpsilon, maxGradNorm,
                miniBatches, epochs);
        changed.validate();
        return changed;
    }
}
