package ai.eapo.training;

import ai.djl.ndarray.types.Shape;
import ai.eapo.model.DecodeBatch;
import ai.eapo.model.InferencePrecision;
import ai.eapo.model.LoraConfig;
import ai.eapo.model.ModelConfig;
import ai.eapo.model.PolicyModel;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/**
 * What a node's configuration needs in memory, computed from the model shapes and the settings before any work:
 * every weight copy (the learner's weights, gradients and AdamW moments, a frozen reference, each sampler
 * replica, the prior), the KV caches at the configured batch and length, the learner's activations and logits
 * for one micro-batch, and the process's fixed overhead. Trained weights, gradients and optimizer state are fp32;
 * weights nothing trains (a LoRA base, replicas, the prior, the reference) and their KV caches are in
 * {@code eapo.model.dtype} ({@link InferencePrecision}), and so is a LoRA learner's computation over its base.
 *
 * <p>The learner's activations per token are counted from what {@code PolicyModel}'s forward pass keeps for
 * the backward pass, per layer: the residual stream and both RMSNorms' outputs (6·hidden), the rotated and
 * reshaped queries and keys and the values (4·q + 4·kv, and 2·q + 2·kv more with q/k norms), the attention
 * probabilities (heads · length), and the SwiGLU's gate, sigmoid, SiLU, up and product (5·intermediate); then
 * the log-softmax output (vocab, fp32) per position. Computing in fp16, those are 2 bytes each, but the attention
 * probabilities are kept twice (the fp32 softmax and its fp16 copy) and each RMSNorm keeps an fp32 copy of its
 * input. On top of one micro-batch of those, the backward pass holds
 * about one layer's worth of gradients and two gradients of the largest weight, the chunked log-softmax a few
 * [rows, chunk, vocab] temporaries, and AdamW's update a few copies of one slice of a weight.
 *
 * <p>With LoRA the base weights are frozen and held once, shared by the learner, every replica, the reference and
 * (when it is the same checkpoint) the prior; gradients, AdamW moments, replicas, the reference and served
 * versions are the adapters' size. The activations stay: gradients still flow back through every layer.
 */
public record MemoryBudget(List<Item> items) {

    /** fp32. */
    static final long FLOAT_BYTES = 4;
    static final String SERVED_WEIGHTS = "weight bytes served to other nodes (Java heap)";
    /** Copies of [rows, chunk, vocab] alive at once in a logits chunk: the logits, scaled, the log-softmax. */
    static final int LOGITS_CHUNK_COPIES = 3;
    /**
     * Weight-sized gradients the backward pass holds at once besides the accumulated ones: the one a chunk of the
     * lm_head (or the embedding) computes and the one it is added to. Measured at 0.5B: the [151,936, 896] ones.
     * With layers recomputed, each chunk's and the embedding's backward pass is its own, and adds its one gradient
     * to the accumulated one in place.
     */
    static final int BACKWARD_LARGEST_WEIGHT_COPIES = 2;
    static final int BACKWARD_LARGEST_WEIGHT_COPIES_RECOMPUTING = 1;

    /**
     * One line of the budget: which role holds it, what it is, how many bytes, and whether it lives with the
     * tensors on the device (false: in host memory whatever the device, like the JVM's own and the Java heap).
     */
    public record Item(String role, String what, long bytes, boolean onDevice) {
        Item(String role, String what, long bytes) {
            this(role, what, bytes, true);
        }
    }

    /**
     * The sizes a budget depends on. {@code policy} may be null on a node that neither learns nor samples, and
     * {@code prior} when this node holds no prior; {@code longestPrompt} is
     * the longest prompt in tokens; {@code samplers} counts replicas in this JVM (0 without the sampler role).
     * {@code lora}: the adapters trained on a frozen base, or null for full-parameter training; {@code priorIsBase}:
     * the prior is that base, shared.
     */
    public record Settings(ModelConfig policy, ModelConfig prior, boolean learner, boolean reference, int samplers,
                           int decodeBatch, int longestPrompt, int maxNewTokens, int sequencesInFlight,
                           MicroBatching microBatching, boolean evaluates, boolean remoteSamplers,
                           long runtimeOverhead, LoraConfig lora, boolean priorIsBase, InferencePrecision precision) {

        /** Every weight nothing trains in fp32. */
        public Settings(ModelConfig policy, ModelConfig prior, boolean learner, boolean reference, int samplers,
                        int decodeBatch, int longestPrompt, int maxNewTokens, int sequencesInFlight,
                        MicroBatching microBatching, boolean evaluates, boolean remoteSamplers, long runtimeOverhead,
                        LoraConfig lora, boolean priorIsBase) {
            this(policy, prior, learner, reference, samplers, decodeBatch, longestPrompt, maxNewTokens,
                    sequencesInFlight, microBatching, evaluates, remoteSamplers, runtimeOverhead, lora, priorIsBase,
                    InferencePrecision.FLOAT32);
        }
    }

    public MemoryBudget {
        items = Collections.unmodifiableList(new ArrayList<>(items));
    }

    /** The budget of {@code s}. */
    public static MemoryBudget of(Settings s) {
        List<Item> items = new ArrayList<>();
        items.add(new Item("process", "JVM, libtorch, tokenizer (eapo.memory.runtime-overhead)", s.runtimeOverhead(),
                false));
        int frozenBytes = s.precision().bytes();
        boolean adapters = s.lora() != null && s.policy() != null;
        // What each copy of the policy holds of its own: the weights (fp32 where they train, else in the inference
        // dtype), or with LoRA the adapters (fp32).
        long policyWeights = s.policy() == null ? 0 : adapters ? adapterBytes(s.policy(), s.lora())
                : weightBytes(s.policy());
        long replicaWeights = s.policy() == null ? 0 : adapters ? policyWeights
                : weightBytes(s.policy(), frozenBytes);
        // The learner computes in fp32 over its own weights, in the inference dtype over a frozen base.
        int learnerBytes = adapters ? frozenBytes : (int) FLOAT_BYTES;
        int sequence = s.longestPrompt() + s.maxNewTokens();
        if (adapters && (s.learner() || s.samplers() > 0)) {
            items.add(new Item("shared", "frozen base weights (learner, replicas" + (s.priorIsBase() ? ", prior" : "")
                    + ")", weightBytes(s.policy(), frozenBytes)));
        }
        if (s.learner()) {
            items.add(new Item("learner", adapters ? "LoRA adapters" : "weights", policyWeights));
            items.add(new Item("learner", "gradients", policyWeights));
            items.add(new Item("learner", "AdamW moments (2)", 2 * policyWeights));
            if (s.reference()) {
                items.add(new Item("learner", "frozen KL reference", replicaWeights));
            }
            long tokens = learnerTokens(s.microBatching(), sequence);
            boolean recompute = s.microBatching().recomputeLayers();
            items.add(new Item("learner", String.format(Locale.ROOT, "activations of a micro-batch (%,d tokens%s)",
                    tokens, recompute ? ", layers recomputed" : ""), tokens * (recompute
                    ? recomputedActivationBytesPerToken(s.policy(), sequence, learnerBytes)
                    : activationBytesPerToken(s.policy(), sequence, learnerBytes)
                            + layerActivationBytesPerToken(s.policy(), sequence, learnerBytes))));
            items.add(new Item("learner", "logits chunks", logitsChunkBytes(s.policy(), s.microBatching(), sequence,
                    learnerBytes)));
            long largest = adapters ? largestAdapterElements(s.policy(), s.lora()) : largestWeightElements(s.policy());
            int inFlight = recompute ? BACKWARD_LARGEST_WEIGHT_COPIES_RECOMPUTING : BACKWARD_LARGEST_WEIGHT_COPIES;
            items.add(new Item("learner", "backward: gradients of the largest weight in flight (" + inFlight + ")",
                    inFlight * largest * FLOAT_BYTES));
            items.add(new Item("learner", "optimizer update of one slice", (long) AdamW.UPDATE_TEMPORARIES
                    * Math.min(largest, AdamW.SLICE_ELEMENTS) * FLOAT_BYTES));
            if (s.evaluates()) {
                items.add(new Item("learner", "held-out evaluation KV cache", kvCacheBytes(s.policy(), s.decodeBatch(),
                        sequence, learnerBytes)));
            }
            if (s.remoteSamplers()) {
                items.add(new Item("learner", SERVED_WEIGHTS, policyWeights, false));
            }
        }
        for (int i = 0; i < s.samplers(); i++) {
            String role = "sampler " + i;
            items.add(new Item(role, adapters ? "adapter replica" : "policy replica", replicaWeights));
            items.add(new Item(role, "KV cache", kvCacheBytes(s.policy(), s.decodeBatch(), sequence, frozenBytes)));
        }
        if (s.prior() != null) {
            items.add(new Item("prior", s.priorIsBase() ? "weights: the policy's frozen base, shared" : "weights",
                    s.priorIsBase() ? 0 : weightBytes(s.prior(), frozenBytes)));
            items.add(new Item("prior", "KV cache of consulting sequences",
                    kvCacheBytes(s.prior(), s.sequencesInFlight() * Math.max(1, s.samplers()), sequence, frozenBytes)));
        }
        return new MemoryBudget(items);
    }

    public long total() {
        return items.stream().mapToLong(Item::bytes).sum();
    }

    /** The items that live in the Java heap (weight bytes served to samplers on other nodes), which -Xmx bounds. */
    public long heapTotal() {
        return items.stream().filter(i -> i.what().equals(SERVED_WEIGHTS)).mapToLong(Item::bytes).sum();
    }

    /** The items that live with the tensors: on a GPU node, what the device's memory must hold. */
    public long deviceTotal() {
        return items.stream().filter(Item::onDevice).mapToLong(Item::bytes).sum();
    }

    /** The budget as a table: one line per item, then the total. */
    public String render() {
        StringBuilder out = new StringBuilder();
        for (Item item : items) {
            out.append(String.format(Locale.ROOT, "  %-10s %-58s %10s%s%n", item.role(), item.what(), gib(item.bytes()),
                    item.onDevice() ? "" : "  (host)"));
        }
        out.append(String.format(Locale.ROOT, "  %-10s %-58s %10s%n", "total", "", gib(total())));
        return out.toString();
    }

    /** {@code bytes} in GiB with two decimals. */
    public static String gib(long bytes) {
        return String.format(Locale.ROOT, "%.2f GiB", bytes / (double) (1L << 30));
    }

    /** fp32 bytes of every tensor of a checkpoint of {@code config}. */
    public static long weightBytes(ModelConfig config) {
        return weightBytes(config, (int) FLOAT_BYTES);
    }

    /** Bytes of every tensor of a checkpoint of {@code config} at {@code bytesPerElement}. */
    public static long weightBytes(ModelConfig config, int bytesPerElement) {
        return config.parameterCount() * bytesPerElement;
    }

    /**
     * Keys and values of {@code rows} sequences of up to {@code sequence} tokens: the cache is allocated as
     * DecodeBatch allocates it ({@link DecodeBatch#capacityFor}), a power of two from 64 positions.
     */
    public static long kvCacheBytes(ModelConfig c, long rows, int sequence) {
        return kvCacheBytes(c, rows, sequence, (int) FLOAT_BYTES);
    }

    /** {@link #kvCacheBytes(ModelConfig, long, int)} at {@code bytesPerElement} (the model's compute dtype). */
    public static long kvCacheBytes(ModelConfig c, long rows, int sequence, int bytesPerElement) {
        long capacity = DecodeBatch.capacityFor(sequence + 1L);
        return rows * capacity * c.numLayers() * 2L * c.numKvHeads() * c.headDim() * bytesPerElement;
    }

    /** fp32 bytes of the adapters {@code lora} puts on a model of {@code config}. */
    public static long adapterBytes(ModelConfig config, LoraConfig lora) {
        return PolicyModel.adapterShapes(config, lora).values().stream().mapToLong(Shape::size).sum() * FLOAT_BYTES;
    }

    private static long largestAdapterElements(ModelConfig config, LoraConfig lora) {
        return PolicyModel.adapterShapes(config, lora).values().stream().mapToLong(Shape::size).max().orElse(0);
    }

    /** Elements of the checkpoint's largest tensor (the embedding or lm_head in every model we train). */
    static long largestWeightElements(ModelConfig c) {
        return PolicyModel.expectedShapes(c).values().stream().mapToLong(Shape::size).max().orElse(0);
    }

    /**
     * Padded tokens of the largest micro-batch: the token budget itself (rows of shorter sequences fill it), or
     * all the rows it may take at the longest sequence when that is less.
     */
    static long learnerTokens(MicroBatching m, int sequence) {
        return Math.max(sequence, Math.min(m.tokens(), (long) m.responses() * sequence));
    }

    /** Bytes the learner's forward pass keeps per token for the backward pass (see the class comment). */
    public static long activationBytesPerToken(ModelConfig c, int sequence) {
        return activationBytesPerToken(c, sequence, (int) FLOAT_BYTES);
    }

    /** {@link #activationBytesPerToken(ModelConfig, int)} computing in {@code computeBytes} (4: fp32, 2: fp16). */
    public static long activationBytesPerToken(ModelConfig c, int sequence, int computeBytes) {
        return c.numLayers() * layerBytes(c, sequence, computeBytes) + 2L * c.hiddenSize() * computeBytes
                + c.vocabSize() * FLOAT_BYTES;
    }

    /**
     * With layers recomputed: per token, every layer's input and the last one's output, the final norm's and the
     * log-softmax's outputs, and one layer's activations twice (recomputed, and their gradients).
     */
    static long recomputedActivationBytesPerToken(ModelConfig c, int sequence, int computeBytes) {
        return (c.numLayers() + 1L) * c.hiddenSize() * computeBytes + 2L * c.hiddenSize() * computeBytes
                + c.vocabSize() * FLOAT_BYTES + 2 * layerBytes(c, sequence, computeBytes);
    }

    /** One layer's share per token, held again as gradients while the backward pass runs through that layer. */
    static long layerActivationBytesPerToken(ModelConfig c, int sequence, int computeBytes) {
        return layerBytes(c, sequence, computeBytes);
    }

    private static long layerBytes(ModelConfig c, int sequence, int computeBytes) {
        long q = (long) c.numHeads() * c.headDim();
        long kv = (long) c.numKvHeads() * c.headDim();
        long norms = c.qkNorm() ? 2 * q + 2 * kv : 0;
        long probabilities = (long) c.numHeads() * sequence;
        long rest = 6L * c.hiddenSize() + 4 * q + 4 * kv + norms + 5L * c.intermediateSize();
        if (computeBytes == FLOAT_BYTES) {
            return (rest + probabilities) * FLOAT_BYTES;
        }
        // The fp32 softmax and its copy in the compute dtype; each RMSNorm's fp32 copy of its input.
        long normInputs = 2L * c.hiddenSize() + (c.qkNorm() ? q + kv : 0);
        return rest * computeBytes + probabilities * (FLOAT_BYTES + computeBytes) + normInputs * FLOAT_BYTES;
    }

    /**
     * The [rows, c, vocab] temporaries of one logits chunk: rows × c is at most rows × the chunk and at most the
     * micro-batch's tokens (c is no longer than a row).
     */
    static long logitsChunkBytes(ModelConfig c, MicroBatching m, int sequence, int computeBytes) {
        long positions = Math.min((long) m.responses() * Math.min(m.logitsChunk(), sequence), learnerTokens(m, sequence));
        // Computing in fp16, the lm_head's own output comes before the fp32 copies.
        long perElement = LOGITS_CHUNK_COPIES * FLOAT_BYTES + (computeBytes == FLOAT_BYTES ? 0 : computeBytes);
        return positions * c.vocabSize() * perElement;
    }
}
