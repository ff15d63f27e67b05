package ai.eapo.training;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.GradientCollector;
import ai.eapo.algorithm.OptimizerOptions;
import ai.eapo.model.NativeMemory;
import ai.eapo.model.PolicyModel;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * One optimizer step over a set of named parameters (spec section 4): gradients accumulated over
 * micro-batches, global gradient-norm clipping, a NaN/Inf guard that skips the step and leaves the weights
 * untouched, then decoupled-weight-decay Adam. Moments live in this object's manager; each step's
 * temporaries in a sub-manager that is closed, so memory stays flat over a long run.
 */
public final class AdamW implements AutoCloseable {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(AdamW.class);

    /** What a step did: mean micro-batch loss, the gradient norm before clipping, whether it was skipped. */
    public record StepReport(double loss, double gradNorm, boolean skipped, int microBatches) {
    }

    private static final ai.djl.ndarray.index.NDIndex EVERYTHING = new ai.djl.ndarray.index.NDIndex("...");

    private final PolicyModel model;
    private final Map<String, NDArray> parameters;
    private final NDManager stateManager;
    private final Map<String, NDArray> firstMoments = new LinkedHashMap<>();
    private final Map<String, NDArray> secondMoments = new LinkedHashMap<>();
    /** Elements of a parameter updated at a time (whole rows); bounds the update's temporaries. */
    private final long sliceElements;
    private OptimizerOptions options;
    private long steps;

    /** Rows of a parameter updated at a time hold at most this many elements (64 MiB of fp32). */
    public static final long SLICE_ELEMENTS = 1L << 24;
    /** Slice-sized temporaries an update holds at once (see {@link #update}): for the memory budget. */
    public static final int UPDATE_TEMPORARIES = 5;
    /** Added to the gradient norm in the clip factor, as PyTorch's clip_grad_norm_ does: no division by 0. */
    private static final double CLIP_NORM_EPSILON = 1e-6;

    /** An optimizer of every weight of {@code model}. */
    public AdamW(PolicyModel model, OptimizerOptions options) {
        this(model, options, SLICE_ELEMENTS);
    }

    /** {@code sliceElements}: the elements of a parameter updated at a time (tests use few). */
    AdamW(PolicyModel model, OptimizerOptions options, long sliceElements) {
        options.validate();
        this.sliceElements = sliceElements;
        this.model = model;
        this.parameters = model.parameters();
        this.options = options;
        NDArray any = parameters.values().iterator().next();
        this.stateManager = any.getManager().newSubManager();
        for (Map.Entry<String, NDArray> p : parameters.entrySet()) {
            p.getValue().setRequiresGradient(true);
            firstMoments.put(p.getKey(), stateManager.zeros(p.getValue().getShape()));
            secondMoments.put(p.getKey(), stateManager.zeros(p.getValue().getShape()));
        }
    }

    /** A new learning rate from the next step on (a live knob). */
    public void setLearningRate(double learningRate) {
        options = options.withLearningRate(learningRate);
    }

    /** Updates made so far (skipped steps do not count): the exponent of the bias correction. */
    public long steps() {
        return steps;
    }

    /** The first moments by parameter name: this optimizer's live arrays, to read (e.g. to save), not to change or keep. */
    public Map<String, NDArray> firstMoments() {
        return Collections.unmodifiableMap(firstMoments);
    }

    /** The second moments by parameter name, on the same terms as {@link #firstMoments()}. */
    public Map<String, NDArray> secondMoments() {
        return Collections.unmodifiableMap(secondMoments);
    }

    /**
     * Replaces the state with a saved one, for a resumed run: the moments are copied into this optimizer's own
     * arrays (the caller keeps and closes its arrays), and {@code steps} sets the bias correction of the next
     * update. All or nothing: every name, shape and dtype is checked before anything changes.
     *
     * @throws IllegalArgumentException naming the moment that is missing, unknown or of the wrong shape or dtype
     */
    public void restoreState(Map<String, NDArray> first, Map<String, NDArray> second, long steps) {
        if (steps < 0) {
            throw new IllegalArgumentException("optimizer step count " + steps + " must be >= 0");
        }
        requireMatchesParameters("first moment", first);
        requireMatchesParameters("second moment", second);
        first.forEach((name, saved) -> saved.copyTo(firstMoments.get(name)));
        second.forEach((name, saved) -> saved.copyTo(secondMoments.get(name)));
        this.steps = steps;
    }

    private void requireMatchesParameters(String kind, Map<String, NDArray> moments) {
        for (Map.Entry<String, NDArray> p : parameters.entrySet()) {
            NDArray saved = moments.get(p.getKey());
            if (saved == null) {
                throw new IllegalArgumentException(kind + " of parameter '" + p.getKey() + "' is missing");
            }
            if (!saved.getShape().equals(p.getValue().getShape())) {
                throw new IllegalArgumentException(kind + " of parameter '" + p.getKey() + "' has shape " + saved.getShape()
                        + ", the parameter has " + p.getValue().getShape());
            }
            if (saved.getDataType() != DataType.FLOAT32) {
                throw new IllegalArgumentException(kind + " of parameter '" + p.getKey() + "' is " + saved.getDataType()
                        + ", not float32");
            }
        }
        for (String name : moments.keySet()) {
            if (!parameters.containsKey(name)) {
                throw new IllegalArgumentException(kind + " for '" + name + "', which is not a parameter of this model");
            }
        }
    }

    /**
     * A micro-batch's loss and what remains of its backward pass once the loss's own has run: nothing, or (with
     * layers recomputed, {@link PolicyModel#tokenLogProbsRecomputingLayers}) the layers below the graph's end.
     */
    public record Loss(NDArray value, Consumer<GradientCollector> restOfBackward) {
        /** A loss whose graph reaches every parameter. */
        public static Loss of(NDArray value) {
            return new Loss(value, collector -> { });
        }
    }

    /**
     * Runs every micro-batch's loss (built in the manager it is given, differentiated, summed into the
     * gradients), then updates. Each micro-batch's loss should already be scaled so that their sum is the
     * batch loss.
     */
    public StepReport step(List<Function<NDManager, Loss>> microBatches) {
        NDArray any = parameters.values().iterator().next();
        double lossSum = 0;
        try (NDManager work = any.getManager().newSubManager()) {
            zeroGradients();
            for (Function<NDManager, Loss> microBatch : microBatches) {
                try (NDManager m = work.newSubManager();
                     GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                    Loss loss = microBatch.apply(m);
                    lossSum += loss.value().getFloat();
                    collector.backward(loss.value());
                    loss.restOfBackward().accept(collector);
                }
                // A micro-batch's activations are freed here; hand their pages back before the next one takes its own
                // (with two arenas shared with the samplers, the next one rarely fits in the same places).
                NativeMemory.afterWork();
            }
            double norm = globalGradientNorm(work);
            if (!Double.isFinite(norm) || !Double.isFinite(lossSum)) {
                LOG.warn("step skipped: loss {}, gradient norm {}; non-finite gradients in {}", lossSum, norm,
                        nonFiniteGradients());
                zeroGradients();
                return new StepReport(lossSum, norm, true, microBatches.size());
            }
            double clip = Math.min(1.0, options.maxGradNorm() / (norm + CLIP_NORM_EPSILON));
            model.updateWeights(() -> update(clip, work));
            zeroGradients();
            return new StepReport(lossSum, norm, false, microBatches.size());
        }
    }

    /** Names of the parameters whose gradient holds a NaN or an infinity. */
    private List<String> nonFiniteGradients() {
        List<String> names = new java.util.ArrayList<>();
        parameters.forEach((name, p) -> {
            NDArray g = p.getGradient();
            try (NDManager m = g.getManager().newSubManager()) {
                g.attach(m);
                if (!Float.isFinite(g.abs().sum().getFloat())) {
                    names.add(name);
                }
            }
        });
        return names;
    }

    private double globalGradientNorm(NDManager work) {
        double sumSquares = 0;
        for (NDArray p : parameters.values()) {
            try (NDManager m = work.newSubManager()) {
                NDArray g = p.getGradient();
                g.attach(m); // a view handle; the gradient storage stays with p
                double norm = g.norm().getFloat(); // a reduction: no parameter-sized square
                sumSquares += norm * norm;
            }
        }
        return Math.sqrt(sumSquares);
    }

    /**
     * Updates every parameter in place, {@link #sliceElements} at a time: the update's temporaries (about five
     * copies of what it works on) then stay small however large a weight is; whole, the 151,936 × 896 embedding of
     * a 0.5B Qwen made 6 GB of them at once.
     */
    private void update(double clip, NDManager work) {
        steps++;
        float lr = (float) options.learningRate();
        float b1 = (float) options.beta1();
        float b2 = (float) options.beta2();
        float biasCorrection1 = (float) (1 - Math.pow(options.beta1(), steps));
        float biasCorrection2 = (float) (1 - Math.pow(options.beta2(), steps));
        for (Map.Entry<String, NDArray> e : parameters.entrySet()) {
            NDArray p = e.getValue();
            long rows = p.getShape().get(0);
            long rowsPerSlice = Math.max(1, sliceElements / Math.max(1, p.size() / rows));
            for (long from = 0; from < rows; from += rowsPerSlice) {
                try (NDManager m = work.newSubManager()) {
                    // Views of the same storage, all owned by m: the update writes through them.
                    NDIndex slice = new NDIndex("{}:{}", from, Math.min(rows, from + rowsPerSlice));
                    NDArray weights = p.stopGradient();
                    NDArray gradient = p.getGradient();
                    m.tempAttachAll(firstMoments.get(e.getKey()), secondMoments.get(e.getKey()));
                    weights.attach(m);
                    gradient.attach(m);
                    NDArray m1 = firstMoments.get(e.getKey()).get(slice);
                    NDArray m2 = secondMoments.get(e.getKey()).get(slice);
                    NDArray w = weights.get(slice);
                    NDArray g = gradient.get(slice).muli((float) clip);
                    m1.muli(b1).addi(g.mul(1 - b1));
                    m2.muli(b2).addi(g.muli(g).muli(1 - b2));
                    NDArray delta = m1.div(biasCorrection1).divi(m2.div(biasCorrection2).sqrt().addi((float) options.adamEpsilon()));
                    if (options.weightDecay() > 0) {
                        delta.addi(w.mul((float) options.weightDecay()));
                    }
                    w.subi(delta.muli(lr));
                }
            }
        }
    }

    private void zeroGradients() {
        NDArray any = parameters.values().iterator().next();
        try (NDManager m = any.getManager().newSubManager()) {
            for (NDArray p : parameters.values()) {
                NDArray g = p.getGradient();
                g.attach(m); // the handle and the scalar the assignment creates are freed with m
                g.set(EVERYTHING, 0f); // assignment, not g*0: a NaN gradient must become 0 too
            }
        }
    }

    @Override
    public void close() {
        stateManager.close();
    }
}
