package ai.eapo.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.eapo.algorithm.LossAggregation;
import ai.eapo.algorithm.LossOptions;
import ai.eapo.algorithm.MismatchCorrection;
import ai.eapo.algorithm.PolicyLoss;
import ai.eapo.algorithm.PolicyLossInputs;
import ai.eapo.model.PolicyModel;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/**
 * The learner's IS-corrected policy-gradient step (spec sections 3–4) on a batch of trajectories: log-probs
 * recomputed under the current weights, {@link PolicyLoss} per micro-batch, gradients accumulated, an
 * {@link AdamW} step.
 *
 * <p>By default there is one optimizer step per batch, so the proximal policy π_prox (weights at the start of the
 * step) is the current policy with its gradient stopped: the ratio ρ is 1 in value and carries the gradient, and
 * PPO's clip never acts. With {@code optimizer.mini-batches} M &gt; 1 or {@code optimizer.epochs} E &gt; 1 (verl's
 * ppo_mini_batch_size / ppo_epochs), π_prox is recomputed once up front and the batch is split into M contiguous
 * mini-batches, each one optimizer step, E times over: from the second update on ρ ≠ 1 and the clip bounds it.
 *
 * <p>The behaviour weight corrects prior tokens and sampler staleness; a token the policy sampled with the very
 * weights being trained (its version is the step's) has weight exactly 1 (spec §3), not the ratio of two
 * computations of the same distribution.
 */
public final class PolicyUpdate {

    /**
     * Per-step statistics for the metrics. {@code kl}: mean k3 estimate of KL(behaviour ‖ π_θ) over the tokens
     * the policy itself sampled, i.e. how far the learner has drifted from the weights that generated the
     * batch (0 when nothing is stale); NaN when no token was sampled by the policy. {@code referenceKl}: mean k3
     * estimate of KL(π_θ ‖ π_ref) per response token, NaN without a reference model. With several updates per
     * step, {@code loss} and {@code gradNorm} are means over the updates, {@code skipped} says whether any update
     * was skipped, and the token statistics cover every update.
     */
    public record Report(double loss, double gradNorm, boolean skipped, double clipFraction, double meanIsWeight,
                         double kl, double referenceKl, long tokens, double mismatchKl, double mismatchMaxRatio) {

        /** The report of a step that had nothing to learn from (every group dropped). */
        public static Report empty() {
            return new Report(0, 0, true, 0, 0, Double.NaN, Double.NaN, 0, Double.NaN, Double.NaN);
        }
    }

    private final PolicyModel model;
    private final PolicyModel reference;
    private final AdamW optimizer;
    private final MicroBatching microBatching;
    private final int miniBatches;
    private final int epochs;
    private final float temperature;
    private final LossOptions lossOptions;

    /**
     * {@code reference}: the frozen π_ref of the KL penalty, or null when no step uses one; {@code miniBatches} and
     * {@code epochs}: the optimizer steps per batch, as in {@link ai.eapo.algorithm.OptimizerOptions}.
     */
    public PolicyUpdate(PolicyModel model, PolicyModel reference, AdamW optimizer, LossOptions lossOptions,
                        MicroBatching microBatching, int miniBatches, int epochs, float temperature) {
        if (miniBatches < 1 || epochs < 1) {
            throw new IllegalArgumentException("mini-batches and epochs must be >= 1, got " + miniBatches + ", " + epochs);
        }
        this.model = model;
        this.reference = reference;
        this.optimizer = optimizer;
        this.lossOptions = lossOptions;
        this.microBatching = microBatching;
        this.miniBatches = miniBatches;
        this.epochs = epochs;
        this.temperature = temperature;
    }

    /**
     * The update of learner step {@code version} (the weights being trained are that version) with KL
     * coefficient {@code klCoef} in place of the configured one.
     *
     * @throws IllegalArgumentException when {@code klCoef} is positive but there is no reference model
     */
    public Report step(List<Trajectory> batch, double klCoef, long version) {
        LossOptions options = lossOptions.withKlCoef(klCoef);
        if (options.klCoef() > 0 && reference == null) {
            throw new IllegalArgumentException(LossOptions.KEY_KL_COEF + " = " + options.klCoef()
                    + " needs a reference model, and this learner has none");
        }
        Totals totals = new Totals();
        if (miniBatches == 1 && epochs == 1) {
            update(batch, null, options, version, totals);
        } else {
            List<float[]> proximal = proximalLogProbs(batch);
            int parts = Math.min(miniBatches, batch.size());
            for (int epoch = 0; epoch < epochs; epoch++) {
                for (int i = 0; i < parts; i++) {
                    int from = i * batch.size() / parts;
                    int to = (i + 1) * batch.size() / parts;
                    update(batch.subList(from, to), proximal.subList(from, to), options, version, totals);
                }
            }
        }
        return totals.report(batch.stream().mapToLong(t -> t.tokens().length).sum());
    }

    /**
     * One optimizer step on {@code batch}, whose π_prox log-probs are {@code proximal} (per trajectory, per response
     * token) or, when null, the current policy's.
     */
    private void update(List<Trajectory> batch, List<float[]> proximal, LossOptions options, long version,
                        Totals totals) {
        long tokens = batch.stream().mapToLong(t -> t.tokens().length).sum();
        double denominator = options.aggregation() == LossAggregation.TOKEN_MEAN ? tokens : batch.size();
        List<Function<NDManager, AdamW.Loss>> microBatches = new ArrayList<>();
        int from = 0;
        for (List<Trajectory> part : microBatching.split(batch, Trajectory::inputLength)) {
            List<float[]> partProximal = proximal == null ? null : proximal.subList(from, from + part.size());
            from += part.size();
            long partTokens = part.stream().mapToLong(t -> t.tokens().length).sum();
            microBatches.add(m -> {
                Padded padded = Padded.of(part);
                NDArray ids = m.create(padded.ids, padded.shape);
                NDArray targets = m.create(padded.targets, padded.shape);
                MicroBatching.LogProbs logProbs = microBatching.logProbs(model, ids, targets, temperature);
                PolicyLossInputs in = inputs(part, padded, ids, targets, logProbs.values(), partProximal, version,
                        options.mismatchCorrection(), m);
                addDrift(in, totals.drift);
                addMismatch(in, part, version, m, totals);
                PolicyLoss.Result r = PolicyLoss.compute(in, options, denominator);
                // Token-weighted so that the batch statistics do not depend on the micro-batch split.
                totals.clipSum += r.clipFraction() * partTokens;
                totals.weightSum += r.meanIsWeight() * partTokens;
                totals.referenceKlSum += r.klMean().orElse(Double.NaN) * partTokens;
                totals.tokens += partTokens;
                return logProbs.loss(r.loss());
            });
        }
        AdamW.StepReport report = optimizer.step(microBatches);
        totals.lossSum += report.loss();
        totals.gradNormSum += report.gradNorm();
        totals.skipped |= report.skipped();
        totals.updates++;
    }

    /** Sums over the updates of one step. */
    private static final class Totals {
        double lossSum;
        double gradNormSum;
        boolean skipped;
        int updates;
        double clipSum;
        double weightSum;
        double referenceKlSum;
        /** Tokens seen by the loss over all updates (each epoch counts them again). */
        long tokens;
        final double[] drift = new double[2];
        /** Sum of k3(π_sampler ‖ π_prox) over tokens drawn with the weights being trained, their count, the largest ratio. */
        double mismatchSum;
        long mismatchTokens;
        double mismatchMaxRatio = Double.NaN;

        Report report(long batchTokens) {
            return new Report(lossSum / updates, gradNormSum / updates, skipped, clipSum / tokens, weightSum / tokens,
                    drift[1] == 0 ? Double.NaN : drift[0] / drift[1], referenceKlSum / tokens, batchTokens,
                    mismatchTokens == 0 ? Double.NaN : mismatchSum / mismatchTokens, mismatchMaxRatio);
        }
    }

    /** log π_prox of every response token under the weights at the start of the step, without a gradient. */
    private List<float[]> proximalLogProbs(List<Trajectory> batch) {
        List<float[]> out = new ArrayList<>(batch.size());
        for (List<Trajectory> part : microBatching.split(batch, Trajectory::inputLength)) {
            try (NDManager m = NDManager.newBaseManager(model.device());
                 PolicyModel frozen = model.inferenceView()) {
                Padded padded = Padded.of(part);
                float[] logProbs = frozen.tokenLogProbs(m.create(padded.ids, padded.shape), m.create(padded.targets,
                        padded.shape), temperature, microBatching.logitsChunk()).toFloatArray();
                for (int r = 0; r < part.size(); r++) {
                    Trajectory t = part.get(r);
                    int at = r * padded.length + t.prompt().length - 1;
                    out.add(Arrays.copyOfRange(logProbs, at, at + t.tokens().length));
                }
            }
        }
        return out;
    }

    /** Adds the k3 terms (r − 1 − log r, r = π_θ / behaviour) of tokens the sampling policy drew and their count. */
    private static void addDrift(PolicyLossInputs in, double[] sumAndCount) {
        NDArray logRatio = in.logProbs().stopGradient().sub(in.behaviourLogProbs());
        NDArray sampled = in.mask().mul(in.resampled().neg().add(1f));
        if (in.replayed() != null) {
            sampled = sampled.mul(in.replayed().neg().add(1f)); // a past policy's tokens: not drift
        }
        NDArray k3 = PolicyLoss.k3(logRatio).mul(sampled);
        sumAndCount[0] += k3.sum().getFloat();
        sumAndCount[1] += sampled.sum().getFloat();
    }

    /**
     * Adds the sampler/learner mismatch of the tokens drawn with the weights being trained
     * ({@link Trajectory#onPolicy}): k3 terms r − 1 − log r with r = π_prox / π_sampler from the sampler's recorded
     * log-prob, and the largest r. In fp32 on both sides r is 1 up to rounding; fp16 or bf16 samplers move it.
     */
    private static void addMismatch(PolicyLossInputs in, List<Trajectory> part, long version, NDManager m,
                                    Totals totals) {
        Padded padded = Padded.of(part);
        float[] sampler = new float[part.size() * padded.length];
        float[] onPolicy = new float[sampler.length];
        long count = 0;
        for (int r = 0; r < part.size(); r++) {
            Trajectory t = part.get(r);
            int first = r * padded.length + t.prompt().length - 1;
            for (int i = 0; i < t.tokens().length; i++) {
                if (t.onPolicy(i, version)) {
                    sampler[first + i] = t.samplerLogProbs()[i];
                    onPolicy[first + i] = 1f;
                    count++;
                }
            }
        }
        if (count == 0) {
            return;
        }
        try (NDManager scope = m.newSubManager()) {
            NDArray mask = scope.create(onPolicy, padded.shape);
            NDArray proximal = in.proximalLogProbs().stopGradient();
            NDArray logRatio = proximal.sub(scope.create(sampler, padded.shape)).mul(mask);
            logRatio.attach(scope);
            NDArray k3 = PolicyLoss.k3(logRatio).mul(mask);
            totals.mismatchSum += k3.sum().getFloat();
            totals.mismatchTokens += count;
            // Where the mask is 0 the log-ratio is 0, ratio 1: never above a real token's largest.
            double largest = logRatio.exp().mul(mask).max().getFloat();
            totals.mismatchMaxRatio = Double.isNaN(totals.mismatchMaxRatio) ? largest
                    : Math.max(totals.mismatchMaxRatio, largest);
        }
    }

    /** Token ids and targets of a micro-batch, right-padded to [B, L]; position p−1+i predicts response token i. */
    private record Padded(long[] ids, long[] targets, int length, Shape shape) {
        static Padded of(List<Trajectory> part) {
            int rows = part.size();
            int length = part.stream().mapToInt(Trajectory::inputLength).max().orElseThrow();
            long[] ids = new long[rows * length];
            long[] targets = new long[rows * length];
            for (int r = 0; r < rows; r++) {
                Trajectory t = part.get(r);
                int base = r * length;
                int p = t.prompt().length;
                System.arraycopy(t.prompt(), 0, ids, base, p);
                System.arraycopy(t.tokens(), 0, ids, base + p, t.tokens().length - 1);
                System.arraycopy(t.tokens(), 0, targets, base + p - 1, t.tokens().length);
            }
            return new Padded(ids, targets, length, new Shape(rows, length));
        }
    }

    /**
     * The loss inputs of a micro-batch; only response positions are unmasked. A token sampled by the policy with
     * the weights of this step ({@code version}) alone ({@link Trajectory#onPolicy}) gets π_prox as its behaviour
     * log-prob, so its weight is exactly 1; with {@link MismatchCorrection#TRUNCATED}, the sampler's recorded
     * log-prob instead, so its weight corrects the sampler's numerics. {@code logProbs}: the policy's log-probs of
     * {@code padded}'s targets, with their gradient.
     */
    private PolicyLossInputs inputs(List<Trajectory> part, Padded padded, NDArray idArray, NDArray targetArray,
                                    NDArray logProbs, List<float[]> proximal, long version,
                                    MismatchCorrection mismatch, NDManager m) {
        int rows = part.size();
        int length = padded.length;
        float[] behaviour = new float[rows * length];
        float[] proximalValues = proximal == null ? null : new float[rows * length];
        float[] current = new float[rows * length];
        float[] resampled = new float[rows * length];
        float[] replayed = new float[rows * length];
        boolean anyReplayed = false;
        float[] advantages = new float[rows];
        float[] mask = new float[rows * length];
        for (int r = 0; r < rows; r++) {
            Trajectory t = part.get(r);
            int first = r * length + t.prompt().length - 1;
            for (int i = 0; i < t.tokens().length; i++) {
                int at = first + i;
                boolean onPolicy = t.onPolicy(i, version);
                behaviour[at] = onPolicy ? t.samplerLogProbs()[i] : t.behaviourLogProbs()[i];
                if (proximalValues != null) {
                    proximalValues[at] = proximal.get(r)[i];
                }
                resampled[at] = t.resampled()[i] ? 1f : 0f;
                replayed[at] = t.replayed() ? 1f : 0f;
                current[at] = onPolicy && mismatch == MismatchCorrection.OFF ? 1f : 0f;
                mask[at] = 1f;
            }
            advantages[r] = (float) t.advantage();
            anyReplayed |= t.replayed();
        }
        Shape shape = padded.shape;
        NDArray proximalLogProbs = proximal == null ? logProbs : m.create(proximalValues, shape);
        NDArray behaviourLogProbs = NDArrays.where(m.create(current, shape).toType(DataType.BOOLEAN, false),
                proximalLogProbs.stopGradient(), m.create(behaviour, shape));
        NDArray referenceLogProbs = reference == null ? null
                : reference.tokenLogProbs(idArray, targetArray, temperature, microBatching.logitsChunk()).stopGradient();
        return new PolicyLossInputs(logProbs, proximalLogProbs, behaviourLogProbs, m.create(resampled, shape),
                m.create(advantages, new Shape(rows, 1)), m.create(mask, shape), referenceLogProbs,
                anyReplayed ? m.create(replayed, shape) : null);
    }
}
