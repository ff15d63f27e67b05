package ai.eapo.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.eapo.algorithm.LossAggregation;
import ai.eapo.algorithm.LossOptions;
import ai.eapo.algorithm.PolicyLoss;
import ai.eapo.algorithm.PolicyLossInputs;
import ai.eapo.model.PolicyModel;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * The learner's IS-corrected policy-gradient step (spec sections 3–4) on a batch of trajectories: log-probs
 * recomputed under the current weights, {@link PolicyLoss} per micro-batch, gradients accumulated, one
 * {@link AdamW} step. There is one optimizer step per batch, so the proximal policy π_prox (weights at the
 * start of the step) is the current policy with its gradient stopped: the ratio ρ is 1 in value and carries
 * the gradient, and the behaviour weight corrects both prior tokens and sampler staleness.
 */
public final class PolicyUpdate {

    /**
     * Per-step statistics for the metrics. {@code kl}: mean k3 estimate of KL(behaviour ‖ π_θ) over the tokens
     * the policy itself sampled, i.e. how far the learner has drifted from the weights that generated the
     * batch (0 when nothing is stale); NaN when no token was sampled by the policy. {@code referenceKl}: mean k3
     * estimate of KL(π_θ ‖ π_ref) per response token, NaN without a reference model.
     */
    public record Report(double loss, double gradNorm, boolean skipped, double clipFraction, double meanIsWeight,
                         double kl, double referenceKl, long tokens) {

        /** The report of a step that had nothing to learn from (every group dropped). */
        public static Report empty() {
            return new Report(0, 0, true, 0, 0, Double.NaN, Double.NaN, 0);
        }
    }

    private final PolicyModel model;
    private final PolicyModel reference;
    private final AdamW optimizer;
    private final int microBatchSize;
    private final float temperature;
    private final LossOptions lossOptions;

    /** {@code reference}: the frozen π_ref of the KL penalty, or null when no step uses one. */
    public PolicyUpdate(PolicyModel model, PolicyModel reference, AdamW optimizer, LossOptions lossOptions,
                        int microBatchSize, float temperature) {
        if (microBatchSize < 1) {
            throw new IllegalArgumentException("micro-batch size must be >= 1, got " + microBatchSize);
        }
        this.model = model;
        this.reference = reference;
        this.optimizer = optimizer;
        this.lossOptions = lossOptions;
        this.microBatchSize = microBatchSize;
        this.temperature = temperature;
    }

    /**
     * One update with KL coefficient {@code klCoef} in place of the configured one.
     *
     * @throws IllegalArgumentException when {@code klCoef} is positive but there is no reference model
     */
    public Report step(List<Trajectory> batch, double klCoef) {
        return step(batch, lossOptions.withKlCoef(klCoef));
    }

    private Report step(List<Trajectory> batch, LossOptions lossOptions) {
        if (lossOptions.klCoef() > 0 && reference == null) {
            throw new IllegalArgumentException(LossOptions.KEY_KL_COEF + " = " + lossOptions.klCoef()
                    + " needs a reference model, and this learner has none");
        }
        long tokens = batch.stream().mapToLong(t -> t.tokens().length).sum();
        double denominator = lossOptions.aggregation() == LossAggregation.TOKEN_MEAN ? tokens : batch.size();
        double[] clipSum = new double[1];
        double[] weightSum = new double[1];
        double[] drift = new double[2];
        double[] referenceKl = new double[1];
        List<Function<NDManager, NDArray>> microBatches = new ArrayList<>();
        for (int from = 0; from < batch.size(); from += microBatchSize) {
            List<Trajectory> part = batch.subList(from, Math.min(batch.size(), from + microBatchSize));
            long partTokens = part.stream().mapToLong(t -> t.tokens().length).sum();
            microBatches.add(m -> {
                PolicyLossInputs in = inputs(part, m);
                addDrift(in, drift);
                PolicyLoss.Result r = PolicyLoss.compute(in, lossOptions, denominator);
                // Token-weighted so that the batch statistics do not depend on the micro-batch split.
                clipSum[0] += r.clipFraction() * partTokens;
                weightSum[0] += r.meanIsWeight() * partTokens;
                referenceKl[0] += r.klMean().orElse(Double.NaN) * partTokens;
                return r.loss();
            });
        }
        AdamW.StepReport report = optimizer.step(microBatches);
        return new Report(report.loss(), report.gradNorm(), report.skipped(), clipSum[0] / tokens,
                weightSum[0] / tokens, drift[1] == 0 ? Double.NaN : drift[0] / drift[1], referenceKl[0] / tokens, tokens);
    }

    /** Adds the k3 terms (r − 1 − log r, r = π_θ / behaviour) of tokens the sampling policy drew and their count. */
    private static void addDrift(PolicyLossInputs in, double[] sumAndCount) {
        NDArray logRatio = in.logProbs().stopGradient().sub(in.behaviourLogProbs());
        NDArray sampled = in.mask().mul(in.resampled().neg().add(1f));
        if (in.replayed() != null) {
            sampled = sampled.mul(in.replayed().neg().add(1f)); // a past policy's tokens: not drift
        }
        NDArray k3 = logRatio.exp().sub(1f).sub(logRatio).mul(sampled);
        sumAndCount[0] += k3.sum().getFloat();
        sumAndCount[1] += sampled.sum().getFloat();
    }

    /** Right-padded [B, L] tensors for a micro-batch; only response positions are unmasked. */
    private PolicyLossInputs inputs(List<Trajectory> part, NDManager m) {
        int rows = part.size();
        int length = part.stream().mapToInt(Trajectory::inputLength).max().orElseThrow();
        long[] ids = new long[rows * length];
        long[] targets = new long[rows * length];
        float[] behaviour = new float[rows * length];
        float[] resampled = new float[rows * length];
        float[] replayed = new float[rows * length];
        boolean anyReplayed = false;
        float[] advantages = new float[rows];
        float[] mask = new float[rows * length];
        for (int r = 0; r < rows; r++) {
            Trajectory t = part.get(r);
            int base = r * length;
            int p = t.prompt().length;
            System.arraycopy(t.prompt(), 0, ids, base, p);
            System.arraycopy(t.tokens(), 0, ids, base + p, t.tokens().length - 1);
            // Position p-1+i predicts response token i.
            for (int i = 0; i < t.tokens().length; i++) {
                int at = base + p - 1 + i;
                targets[at] = t.tokens()[i];
                behaviour[at] = t.behaviourLogProbs()[i];
                resampled[at] = t.resampled()[i] ? 1f : 0f;
                replayed[at] = t.replayed() ? 1f : 0f;
                mask[at] = 1f;
            }
            advantages[r] = (float) t.advantage();
            anyReplayed |= t.replayed();
        }
        Shape shape = new Shape(rows, length);
        NDArray idArray = m.create(ids, shape);
        NDArray targetArray = m.create(targets, shape);
        NDArray logProbs = model.tokenLogProbs(idArray, targetArray, temperature);
        NDArray referenceLogProbs = reference == null ? null
                : reference.tokenLogProbs(idArray, targetArray, temperature).stopGradient();
        return new PolicyLossInputs(logProbs, logProbs, m.create(behaviour, shape), m.create(resampled, shape),
                m.create(advantages, new Shape(rows, 1)), m.create(mask, shape), referenceLogProbs,
                anyReplayed ? m.create(replayed, shape) : null);
    }
}
