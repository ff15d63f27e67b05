package ai.eapo.training;

import ai.djl.ndarray.NDArray;
import ai.djl.training.GradientCollector;
import ai.eapo.model.PolicyModel;
import com.typesafe.config.Config;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * How the learner splits a batch for its forward/backward passes, so that its memory is bounded by these
 * limits and not by the number of responses in a step: a micro-batch takes consecutive responses while it has
 * at most {@code responses} of them and at most {@code tokens} padded tokens (rows × the longest prompt +
 * response); the vocabulary-wide log-softmax runs on {@code logitsChunk} positions at a time; with
 * {@code recomputeLayers}, the backward pass recomputes each layer instead of keeping every layer's activations
 * (gradient checkpointing). Gradients accumulate over micro-batches, so the update does not depend on the split.
 */
public record MicroBatching(int responses, long tokens, int logitsChunk, boolean recomputeLayers) {

    public static final String KEY_RESPONSES = "eapo.rollout.micro-batch-size";
    public static final String KEY_TOKENS = "eapo.memory.learner-micro-batch-tokens";
    public static final String KEY_LOGITS_CHUNK = "eapo.memory.logits-chunk-positions";
    public static final String KEY_RECOMPUTE = "eapo.memory.recompute-layers";

    public MicroBatching {
        if (responses < 1 || tokens < 1 || logitsChunk < 1) {
            throw new IllegalArgumentException("micro-batching needs responses, tokens and logits chunk >= 1, got "
                    + responses + ", " + tokens + ", " + logitsChunk);
        }
    }

    /** Keeping every layer's activations for the backward pass. */
    public MicroBatching(int responses, long tokens, int logitsChunk) {
        this(responses, tokens, logitsChunk, false);
    }

    /** At most {@code responses} per micro-batch, without a token limit or logits chunks. */
    public static MicroBatching ofResponses(int responses) {
        return new MicroBatching(responses, Long.MAX_VALUE, Integer.MAX_VALUE);
    }

    /**
     * The configured micro-batching; {@code eapo.memory.recompute-layers = auto} starts without recomputation
     * ({@link #recomputeIsAuto}: the node turns it on when its budget would not fit otherwise).
     */
    public static MicroBatching fromConfig(Config config) {
        String recompute = config.getString(KEY_RECOMPUTE);
        if (!List.of("auto", "on", "off").contains(recompute)) {
            throw new ai.eapo.UserInputException(KEY_RECOMPUTE + " = '" + recompute + "': use auto, on or off");
        }
        return new MicroBatching(config.getInt(KEY_RESPONSES), config.getLong(KEY_TOKENS),
                config.getInt(KEY_LOGITS_CHUNK), recompute.equals("on"));
    }

    /** Whether {@code eapo.memory.recompute-layers} is auto: the node decides from its memory budget. */
    public static boolean recomputeIsAuto(Config config) {
        return config.getString(KEY_RECOMPUTE).equals("auto");
    }

    /**
     * A micro-batch's log-probs as the learner computes them ({@code values}, [B, L]), and what remains of the
     * backward pass once a loss of them has run its own: nothing, or the layers recomputed one by one.
     */
    public record LogProbs(NDArray values, Consumer<GradientCollector> restOfBackward) {
        /** {@code loss}, computed from {@link #values}, as the optimizer takes it. */
        public AdamW.Loss loss(NDArray loss) {
            return new AdamW.Loss(loss, restOfBackward);
        }
    }

    /** log π of {@code targets} after {@code ids} at {@code temperature}, chunked and recomputing as configured. */
    public LogProbs logProbs(PolicyModel model, NDArray ids, NDArray targets, float temperature) {
        if (recomputeLayers) {
            PolicyModel.LayerRecompute recompute = model.tokenLogProbsRecomputingLayers(ids, targets, temperature,
                    logitsChunk);
            return new LogProbs(recompute.logProbs(), recompute::backwardThroughLayers);
        }
        return new LogProbs(model.tokenLogProbs(ids, targets, temperature, logitsChunk), collector -> { });
    }

    /** The same micro-batching with layers recomputed in the backward pass. */
    public MicroBatching recomputingLayers() {
        return new MicroBatching(responses, tokens, logitsChunk, true);
    }

    /**
     * Contiguous micro-batches of {@code batch} whose inputs are {@code inputLength} tokens long each. A single
     * input longer than the token limit forms a micro-batch of its own (start-up refuses such a configuration).
     */
    public <T> List<List<T>> split(List<T> batch, java.util.function.ToIntFunction<T> inputLength) {
        List<List<T>> parts = new ArrayList<>();
        int from = 0;
        while (from < batch.size()) {
            int to = from;
            long longest = 0;
            while (to < batch.size() && to - from < responses) {
                long candidate = Math.max(longest, inputLength.applyAsInt(batch.get(to)));
                if (to > from && candidate * (to - from + 1) > tokens) {
                    break;
                }
                longest = candidate;
                to++;
            }
            parts.add(batch.subList(from, to));
            from = to;
        }
        return parts;
    }
}
