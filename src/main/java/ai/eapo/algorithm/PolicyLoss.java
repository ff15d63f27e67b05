package ai.eapo.algorithm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.eapo.model.Constants;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.OptionalDouble;
import java.util.Set;

/**
 * The EAPO policy loss: the GRPO clipped surrogate with an importance weight for tokens that were
 * not drawn from the proximal policy (spec section 3). Per response token t of response i:
 *
 * <pre>
 *   ρ_t = exp(log π_θ(a_t) − log π_prox(a_t))
 *   w_t = stopgrad(min(exp(log π_prox(a_t) − behaviour_logprob_t), C))     (w_t = 1 in mode none)
 *   ℓ_t = −w_t · min(ρ_t A_i, clip(ρ_t, 1 − ε_low, 1 + ε_high) A_i)
 *       = −f(π_θ(a_t)) · A_i,  f(x) = x / (x + γ)       for resampled tokens in mode shaped
 *       = −g(w*_t) · A_i,  w*_t = π_θ(a_t) / π_past(a_t),  g(x) = x / (x + β)
 *                                                       for tokens of replayed trajectories (ExGRPO policy shaping)
 *   ℓ_t += β · (exp(log π_ref − log π_θ) − (log π_ref − log π_θ) − 1)      (k3 KL, when β &gt; 0)
 * </pre>
 *
 * <p>The weight is a per-decision (token-level) correction: it makes the expected gradient of each
 * token's choice, given its prefix, equal to that under π_prox. It does not correct the shift of the
 * prefix distribution caused by earlier resampled or stale tokens.
 *
 * <p>Only the returned scalar stays in the manager of {@code logProbs}; intermediates are freed
 * before returning (autograd keeps what backward needs). Padding positions must hold finite values
 * (0 is fine): they are masked by multiplication, so an infinite value would turn into NaN.
 */
public final class PolicyLoss {

    private PolicyLoss() {
    }

    /**
     * The scalar loss and diagnostics over the response tokens of this (micro-)batch.
     *
     * @param loss scalar, differentiable with respect to {@code logProbs}
     * @param clipFraction share of IS-weighted tokens where the clipped term was the smaller one
     * @param meanIsWeight mean applied weight w_t over IS-weighted tokens (resampled tokens in mode
     *     {@code shaped} are not IS-weighted); 0 if there are none
     * @param cappedFraction share of IS-weighted tokens whose weight was cut at C
     * @param klMean mean k3 estimate of KL(π_θ ‖ π_ref) per token, present when reference log-probs were given
     */
    public record Result(NDArray loss, double clipFraction, double meanIsWeight, double cappedFraction,
            OptionalDouble klMean) {
    }

    /**
     * Schulman's k3 estimator of a KL term per token: e^x − x − 1 with x = log p − log q at a token drawn from q, an
     * unbiased, non-negative estimate of KL(q ‖ p). The reference KL of the loss, the learner's drift from the
     * behaviour policy and the sampler/learner mismatch in the metrics all use it.
     */
    public static NDArray k3(NDArray logRatio) {
        return logRatio.exp().sub(logRatio).sub(1.0);
    }

    /** The loss normalised by this batch's own response-token count (or response count for seq-mean-token-mean). */
    public static Result compute(PolicyLossInputs inputs, LossOptions options) {
        return compute(inputs, options, OptionalDouble.empty());
    }

    /**
     * The loss normalised by {@code denominator}: with gradient accumulation, pass the response-token
     * count (token-mean) or the non-empty response count (seq-mean-token-mean) of the whole batch so
     * that the sum of the micro-batch losses equals the loss of the batch.
     */
    public static Result compute(PolicyLossInputs inputs, LossOptions options, double denominator) {
        if (!(denominator > 0.0) || Double.isInfinite(denominator)) {
            throw new IllegalArgumentException("loss denominator must be a finite number > 0, got " + denominator);
        }
        return compute(inputs, options, OptionalDouble.of(denominator));
    }

    private static Result compute(PolicyLossInputs in, LossOptions options, OptionalDouble denominator) {
        checkShapes(in, options);
        NDManager owner = in.logProbs().getManager();
        try (NDManager scope = owner.newSubManager()) {
            scope.tempAttachAll(presentArrays(in));
            DataType dtype = in.logProbs().getDataType();
            NDArray logProbs = in.logProbs();
            NDArray mask = in.mask().toType(dtype, false);
            NDArray advantages = in.advantages().toType(dtype, false);
            NDArray proximal = in.proximalLogProbs().stopGradient();
            NDArray behaviour = in.behaviourLogProbs().stopGradient();

            NDArray ratio = logProbs.sub(proximal).exp();
            NDArray rawWeight = proximal.sub(behaviour).exp();
            boolean weighted = options.isMode() != ImportanceSamplingMode.NONE;
            NDArray weight = weighted ? rawWeight.minimum(options.isCap()) : rawWeight.onesLike();
            NDArray capped = weighted ? rawWeight.gt(options.isCap()).toType(dtype, false) : rawWeight.zerosLike();

            NDArray unclipped = ratio.mul(advantages);
            NDArray clipped = ratio.clip(1.0 - options.clipLow(), 1.0 + options.clipHigh()).mul(advantages);
            NDArray clipActive = clipped.lt(unclipped).toType(dtype, false);
            NDArray tokenLoss = weight.mul(NDArrays.minimum(unclipped, clipped)).neg();
            // Tokens whose loss carries the IS weight (every response token unless shaped away below).
            NDArray weightedTokens = mask;
            if (options.isMode() == ImportanceSamplingMode.SHAPED) {
                NDArray resampled = in.resampled().toType(DataType.BOOLEAN, false);
                NDArray probs = logProbs.exp();
                NDArray shaped = probs.div(probs.add(options.shapingGamma())).mul(advantages).neg();
                tokenLoss = NDArrays.where(resampled, shaped, tokenLoss);
                weightedTokens = mask.mul(resampled.logicalNot().toType(dtype, false));
            }
            if (in.replayed() != null) {
                // ExGRPO: no IS weight and no clip; the shaping damps the gradient of already likely tokens.
                NDArray replayed = in.replayed().toType(DataType.BOOLEAN, false);
                NDArray w = logProbs.sub(behaviour).exp();
                NDArray shaped = w.div(w.add(options.replayShapingBeta())).mul(advantages).neg();
                tokenLoss = NDArrays.where(replayed, shaped, tokenLoss);
                weightedTokens = weightedTokens.mul(replayed.logicalNot().toType(dtype, false));
            }

            OptionalDouble klMean = OptionalDouble.empty();
            if (in.refLogProbs() != null) {
                NDArray refLogRatio = in.refLogProbs().stopGradient().sub(logProbs);
                NDArray k3 = k3(refLogRatio);
                klMean = OptionalDouble.of(ratioOfSums(k3.mul(mask), mask));
                if (options.klCoef() > 0.0) {
                    tokenLoss = tokenLoss.add(Constants.multiply(k3, options.klCoef()));
                }
            }

            NDArray loss = aggregate(tokenLoss.mul(mask), mask, options.aggregation(), denominator);
            loss.attach(owner);
            return new Result(loss,
                    ratioOfSums(clipActive.mul(weightedTokens), weightedTokens),
                    ratioOfSums(weight.mul(weightedTokens), weightedTokens),
                    ratioOfSums(capped.mul(weightedTokens), weightedTokens),
                    klMean);
        }
    }

    private static NDArray aggregate(NDArray maskedLoss, NDArray mask, LossAggregation aggregation,
            OptionalDouble denominator) {
        return switch (aggregation) {
            // Divide before summing, by a constant autograd can keep (see Constants).
            case TOKEN_MEAN -> Constants.divide(maskedLoss, denominator.orElse(Math.max(1.0, sum(mask)))).sum();
            case SEQ_MEAN_TOKEN_MEAN -> {
                NDArray tokensPerResponse = mask.sum(new int[] {1});
                NDArray responseMeans = maskedLoss.sum(new int[] {1}).div(tokensPerResponse.maximum(1.0));
                double responses = sum(tokensPerResponse.gt(0.0).toType(mask.getDataType(), false));
                yield Constants.divide(responseMeans, denominator.orElse(Math.max(1.0, responses))).sum();
            }
        };
    }

    private static double ratioOfSums(NDArray numerator, NDArray denominator) {
        double total = sum(denominator);
        return total == 0.0 ? 0.0 : sum(numerator) / total;
    }

    private static double sum(NDArray array) {
        return array.sum().toType(DataType.FLOAT64, false).getDouble();
    }

    /**
     * The inputs' arrays, each once: π_prox is often the log-probs themselves, and an array attached to the scope
     * twice would be handed back to the scope, not its owner, and closed with it.
     */
    private static NDArray[] presentArrays(PolicyLossInputs in) {
        Set<NDArray> arrays = Collections.newSetFromMap(new IdentityHashMap<>());
        arrays.addAll(List.of(in.logProbs(), in.proximalLogProbs(), in.behaviourLogProbs(), in.resampled(),
                in.advantages(), in.mask()));
        if (in.refLogProbs() != null) {
            arrays.add(in.refLogProbs());
        }
        if (in.replayed() != null) {
            arrays.add(in.replayed());
        }
        return arrays.toArray(NDArray[]::new);
    }

    private static void checkShapes(PolicyLossInputs in, LossOptions options) {
        Shape shape = in.logProbs().getShape();
        if (shape.dimension() != 2) {
            throw new IllegalArgumentException("logProbs must be [responses, tokens], got " + shape);
        }
        requireShape("proximalLogProbs", in.proximalLogProbs(), shape);
        requireShape("behaviourLogProbs", in.behaviourLogProbs(), shape);
        requireShape("resampled", in.resampled(), shape);
        requireShape("mask", in.mask(), shape);
        Shape perResponse = new Shape(shape.get(0), 1);
        Shape advantages = in.advantages().getShape();
        if (!advantages.equals(shape) && !advantages.equals(perResponse)) {
            throw new IllegalArgumentException("advantages must be " + shape + " or " + perResponse
                    + ", got " + advantages);
        }
        if (in.replayed() != null) {
            requireShape("replayed", in.replayed(), shape);
        }
        if (in.refLogProbs() != null) {
            requireShape("refLogProbs", in.refLogProbs(), shape);
        } else if (options.klCoef() > 0.0) {
            throw new IllegalArgumentException(LossOptions.KEY_KL_COEF + " = " + options.klCoef()
                    + " needs reference log-probs, but none were given");
        }
    }

    private static void requireShape(String name, NDArray array, Shape expected) {
        if (array == null || !array.getShape().equals(expected)) {
            throw new IllegalArgumentException(name + " must have shape " + expected + ", got "
                    + (array == null ? "null" : array.getShape()));
        }
    }
}
