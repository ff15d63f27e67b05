package ai.eapo.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Draws one token per row of next-token logits, on the device, by inverse-CDF sampling with a uniform
 * number supplied per row: each sequence brings its own seeded random stream, so what it samples does
 * not depend on which other sequences share the batch.
 */
public final class TokenSampler {

    /**
     * Per row: the chosen token; its log-probability under the full temperature-scaled distribution
     * ({@code logProbs}, what the learner recomputes); its log-probability under the distribution it was actually
     * drawn from ({@code sampledLogProbs} = log p(a) − log Z, the behaviour log-prob of spec section 1.4); the mass
     * Z that top-p / top-k kept (1 when nothing is cut; greedy draws from a point mass, Z = p(argmax)); and the
     * entropy (nats) of the full temperature-scaled distribution, the H_t compared with τ.
     */
    public record Draw(long[] tokens, float[] logProbs, float[] sampledLogProbs, float[] keptMass, float[] entropies) {
    }

    private TokenSampler() {
    }

    /** Log-probabilities [rows, vocab] of the temperature-scaled distribution. */
    public static NDArray logProbs(NDArray logits, SamplingParams params) {
        return logits.div(params.logProbTemperature()).logSoftmax(-1);
    }

    /**
     * Samples one token per row. {@code uniforms[i]} in [0, 1) drives row i (ignored when greedy).
     * All intermediate arrays are created in a sub-manager of the logits' manager and freed here.
     */
    public static Draw sample(NDArray logits, SamplingParams params, double[] uniforms) {
        int rows = (int) logits.getShape().get(0);
        if (uniforms.length != rows) {
            throw new IllegalArgumentException(rows + " rows but " + uniforms.length + " uniform numbers");
        }
        try (NDManager work = logits.getManager().newSubManager()) {
            // Borrow the logits so every temporary lands in, and is freed with, this step's manager.
            work.tempAttachAll(logits);
            NDArray logProbs = logProbs(logits, params);
            NDArray entropy = SoftmaxEntropy.ofLogProbs(logProbs);
            NDArray tokens;
            NDArray keptMass;
            NDArray chosen;
            if (params.greedy()) {
                tokens = logProbs.argMax(-1);
                chosen = logProbs.gather(tokens.expandDims(-1), -1).squeeze(-1);
                keptMass = chosen.exp();
            } else {
                NDArray[] drawn = inverseCdf(logProbs.exp(), params, uniforms, work);
                tokens = drawn[0];
                keptMass = drawn[1];
                chosen = logProbs.gather(tokens.expandDims(-1), -1).squeeze(-1);
            }
            NDArray sampled = params.greedy() || params.truncates() ? chosen.sub(keptMass.log()) : chosen;
            return new Draw(tokens.toType(DataType.INT64, false).toLongArray(), chosen.toFloatArray(),
                    sampled.toFloatArray(), keptMass.toFloatArray(), entropy.toFloatArray());
        }
    }

    /** Log-probabilities of {@code tokens[i]} at row {@code rows[i]} of {@code logits} (temperature-scaled). */
    public static float[] logProbsOf(NDArray logits, SamplingParams params, long[] rows, long[] tokens) {
        try (NDManager work = logits.getManager().newSubManager()) {
            NDArray picked = logits.get(new NDIndex("{}", work.create(rows)));
            picked.attach(work);
            NDArray logProbs = logProbs(picked, params);
            return logProbs.gather(work.create(tokens).expandDims(-1), -1).squeeze(-1).toFloatArray();
        }
    }

    /**
     * Draws from probs [rows, vocab] restricted to top-k / top-p, with one uniform per row: the tokens [rows] and
     * the probability mass the restriction kept [rows].
     */
    private static NDArray[] inverseCdf(NDArray probs, SamplingParams params, double[] uniforms, NDManager work) {
        NDArray order = null;
        NDArray p = probs;
        NDArray rank = work.arange(0, (int) probs.getShape().get(1), 1, DataType.INT64).expandDims(0);
        if (params.truncates()) {
            order = probs.argSort(-1, false); // descending
            p = probs.gather(order, -1);
            NDArray massBefore = p.cumSum(-1).sub(p);
            NDArray keep = massBefore.lt((float) params.topP());
            if (params.topK() > 0) {
                keep = keep.logicalAnd(rank.lt(params.topK()));
            }
            p = p.mul(keep.toType(DataType.FLOAT32, false));
        }
        NDArray cdf = p.cumSum(-1);
        float[] u = new float[uniforms.length];
        for (int i = 0; i < u.length; i++) {
            u[i] = (float) uniforms[i];
        }
        NDArray target = work.create(u).expandDims(-1).mul(cdf.get("..., -1:"));
        NDArray index = cdf.lte(target).toType(DataType.INT64, false).sum(new int[]{-1});
        // Float rounding can put u·total at the very end of the CDF: clamp to the last token with mass.
        NDArray lastWithMass = rank.mul(p.gt(0f).toType(DataType.INT64, false)).max(new int[]{-1});
        index = index.minimum(lastWithMass);
        NDArray tokens = order == null ? index : order.gather(index.expandDims(-1), -1).squeeze(-1);
        NDArray kept = order == null ? work.ones(new Shape(u.length)) : cdf.get("..., -1");
        return new NDArray[] {tokens, kept};
    }
}
