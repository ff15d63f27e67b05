package ai.eapo.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.eapo.UserInputException;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A decoder-only transformer of the Qwen2 / Qwen2.5 / Qwen3 / LLaMA family, written as plain NDArray code so
 * it reads top to bottom: embeddings → N × (RMSNorm → grouped-query attention with RoPE → residual →
 * RMSNorm → SwiGLU MLP → residual) → RMSNorm → lm_head. It computes in its weights' dtype: fp32, or fp16 for
 * weights nothing trains ({@link InferencePrecision}), where the RMSNorm statistics, the attention softmax and the
 * logits still run in fp32, as Hugging Face's Qwen2 does; fp32 LoRA adapters over an fp16 base compute in fp16.
 *
 * <p>With LoRA ({@link #withLora}) the Hugging Face weights are a frozen base, shared by every model made from it,
 * and the trainable tensors are the adapters: each targeted linear map adds {@code (alpha / r) · B A x}.
 *
 * <p>Two forward paths share the weights: {@link #logits} runs whole sequences (with autograd when the
 * caller records gradients; used by the learner), and {@link #forward} with an {@link Attention} over a
 * key/value cache runs the incremental decoder of {@link DecodeBatch}. Weights keep their Hugging Face names and layouts, so loading
 * and saving are name-for-name copies.
 */
public final class PolicyModel implements AutoCloseable {

    private static final ai.djl.ndarray.index.NDIndex EVERYTHING = new ai.djl.ndarray.index.NDIndex("...");

    private final ModelConfig config;
    private final NDManager manager;
    /** The trainable tensors: every weight, or with LoRA the adapters only. */
    private final Map<String, NDArray> weights;
    /** With LoRA, the frozen base weights (another model's, shared); otherwise empty. */
    private final Map<String, NDArray> frozen;
    /** The adapters' settings, or null without LoRA. */
    private final LoraConfig lora;
    /** The model whose weights are {@link #frozen}, when this one closes it (an adapter loaded with its base). */
    private PolicyModel frozenOwner;
    /** 1 / theta^(2i/d) for i < d/2: the rotary frequencies, shared by every layer. */
    private final NDArray inverseFrequencies;
    /** Changes of the weights' values take it exclusively; readers of a published version share it. */
    private final ReentrantReadWriteLock weightsLock = new ReentrantReadWriteLock();
    /** Changes of the weights' values so far (loads, optimizer updates); guarded by {@link #weightsLock}. */
    private long revision;
    /** Rows of the lm_head that are tokens; the rest pad the embeddings (see {@link #limitVocabulary}). */
    private int vocabulary;
    /** Whether {@link #linear} multiplies the weights from the left: a {@link #decodingView}'s choice. */
    private boolean weightsFirst;

    PolicyModel(ModelConfig config, NDManager manager, Map<String, NDArray> weights) {
        this(config, manager, weights, Map.of(), null);
    }

    private PolicyModel(ModelConfig config, NDManager manager, Map<String, NDArray> weights,
                        Map<String, NDArray> frozen, LoraConfig lora) {
        this.config = config;
        this.manager = manager;
        this.weights = weights;
        this.frozen = frozen;
        this.lora = lora;
        int half = config.headDim() / 2;
        float[] inv = new float[half];
        for (int i = 0; i < half; i++) {
            inv[i] = (float) (1.0 / Math.pow(config.ropeTheta(), 2.0 * i / config.headDim()));
        }
        this.inverseFrequencies = manager.create(inv);
        this.vocabulary = config.vocabSize();
    }

    /**
     * Restricts the logits to the first {@code tokens} rows of the lm_head, the token ids of the model's
     * tokenizer ({@link TokenizerVocabulary#size}): checkpoints pad their embeddings past it (Qwen2.5-Math-7B has
     * 152,064 rows for 151,665 tokens), and a padding row must never be sampled nor count in an entropy or a
     * log-softmax. Every logits this model (and its replicas and views made afterwards) returns has {@code tokens}
     * columns.
     */
    public void limitVocabulary(int tokens) {
        if (tokens < 1 || tokens > config.vocabSize()) {
            throw new UserInputException("the tokenizer has " + tokens + " token ids but the model's vocab_size is "
                    + config.vocabSize() + ": a tokenizer with more ids than embedding rows belongs to another model");
        }
        vocabulary = tokens;
    }

    /** Columns of the logits: the tokenizer's ids when {@link #limitVocabulary} was called, else vocab_size. */
    public int vocabulary() {
        return vocabulary;
    }

    /**
     * This model as the frozen base of LoRA adapters {@code lora}, initialised as PEFT does (A uniform in
     * ±1/√in, B zero: the new model computes exactly what this one does). The adapters are the new model's
     * {@link #parameters}; this model's weights are shared, never copied, so this model must stay open while the
     * new one (and its replicas) is used, and must not be trained.
     */
    public PolicyModel withLora(LoraConfig lora, long seed) {
        if (this.lora != null) {
            throw new IllegalStateException("the model already has adapters");
        }
        NDManager adapterManager = NDManager.newBaseManager(device());
        adapterManager.getEngine().setRandomSeed((int) seed);
        Map<String, NDArray> adapters = new LinkedHashMap<>();
        adapterShapes(config, lora).forEach((name, shape) -> adapters.put(name, name.contains(".lora_A.")
                ? adapterManager.randomUniform((float) -initBound(shape), (float) initBound(shape), shape)
                : adapterManager.zeros(shape)));
        PolicyModel adapted = new PolicyModel(config, adapterManager, adapters, Collections.unmodifiableMap(weights), lora);
        adapted.vocabulary = vocabulary;
        return adapted;
    }

    /** PEFT's kaiming_uniform(a = √5) bound for lora_A [r, in]: √(6 / ((1 + 5) · in)) = 1/√in. */
    private static double initBound(Shape loraA) {
        return 1.0 / Math.sqrt(loraA.get(1));
    }

    /**
     * The frozen base under the adapters as a model of its own, without adapters: views of the same memory
     * (nothing is copied; closing it frees only its handles). A prior that is the policy's base shares it so.
     */
    public PolicyModel frozenBaseView() {
        if (lora == null) {
            throw new IllegalStateException("the model has no adapters, so no frozen base");
        }
        NDManager viewManager = NDManager.newBaseManager(device());
        Map<String, NDArray> views = new LinkedHashMap<>();
        frozen.forEach((name, w) -> {
            NDArray view = w.stopGradient();
            view.attach(viewManager);
            views.put(name, view);
        });
        PolicyModel base = new PolicyModel(config, viewManager, views);
        base.vocabulary = vocabulary;
        return base;
    }

    /** This adapter model closes {@code base} (whose weights it adapts) when it closes. */
    PolicyModel owningBase(PolicyModel base) {
        this.frozenOwner = base;
        return this;
    }

    /** The adapters' settings, or null without LoRA. */
    public LoraConfig lora() {
        return lora;
    }

    /** The frozen base weights under the adapters (empty without LoRA). */
    public Map<String, NDArray> frozenWeights() {
        return frozen;
    }

    /**
     * The adapters of {@code lora} on a model of {@code config}, in a stable order with their shapes, by our names
     * ({@code model.layers.0.self_attn.q_proj.lora_A.weight}; PEFT prefixes {@code base_model.model.}).
     */
    public static Map<String, Shape> adapterShapes(ModelConfig config, LoraConfig lora) {
        Map<String, Shape> base = expectedShapes(config);
        Map<String, Shape> out = new LinkedHashMap<>();
        for (int i = 0; i < config.numLayers(); i++) {
            for (String module : lora.targetModules()) {
                String prefix = "model.layers." + i + "." + LoraConfig.MODULES.get(module);
                Shape w = base.get(prefix + ".weight"); // [out, in]
                out.put(prefix + ".lora_A.weight", new Shape(lora.rank(), w.get(1)));
                out.put(prefix + ".lora_B.weight", new Shape(w.get(0), lora.rank()));
            }
        }
        return out;
    }

    /**
     * A model without adapters whose weights are the base's with each adapter merged in, W + (alpha / r) B A: it
     * computes what this one does. Its own memory, fp32; a model without LoRA is copied.
     */
    public PolicyModel merged() {
        NDManager mergedManager = NDManager.newBaseManager(device());
        Map<String, NDArray> out = new LinkedHashMap<>();
        Map<String, NDArray> base = lora == null ? weights : frozen;
        base.forEach((name, w) -> {
            // fp32 whatever the base's dtype: a merged checkpoint is written, or trained, in full precision.
            NDArray copy = castCopy(w, DataType.FLOAT32, mergedManager);
            String module = name.substring(0, name.length() - ".weight".length());
            NDArray a = lora == null ? null : weights.get(module + ".lora_A.weight");
            if (a != null) {
                try (NDArray b = weights.get(module + ".lora_B.weight").stopGradient(); NDArray aView = a.stopGradient();
                     NDArray product = b.matMul(aView); NDArray delta = product.mul((float) lora.scaling())) {
                    copy.addi(delta);
                }
            }
            out.put(name, copy);
        });
        PolicyModel merged = new PolicyModel(config, mergedManager, out);
        merged.vocabulary = vocabulary;
        return merged;
    }

    /** A freshly initialised model (normal(0, initStd) matrices, unit norms, zero biases). */
    public static PolicyModel random(ModelConfig config, Device device, long seed, float initStd) {
        NDManager manager = NDManager.newBaseManager(device);
        manager.getEngine().setRandomSeed((int) seed);
        Map<String, NDArray> weights = new LinkedHashMap<>();
        for (Map.Entry<String, Shape> e : expectedShapes(config).entrySet()) {
            String name = e.getKey();
            NDArray w;
            if (name.endsWith("norm.weight")) {
                w = manager.ones(e.getValue());
            } else if (name.endsWith(".bias")) {
                w = manager.zeros(e.getValue());
            } else {
                w = manager.randomNormal(0f, initStd, e.getValue(), DataType.FLOAT32);
            }
            weights.put(name, w);
        }
        return new PolicyModel(config, manager, weights);
    }

    /** The tensors a checkpoint of this configuration must hold, in a stable order, with their shapes. */
    public static Map<String, Shape> expectedShapes(ModelConfig c) {
        Map<String, Shape> s = new LinkedHashMap<>();
        int h = c.hiddenSize();
        int q = c.numHeads() * c.headDim();
        int kv = c.numKvHeads() * c.headDim();
        s.put("model.embed_tokens.weight", new Shape(c.vocabSize(), h));
        for (int i = 0; i < c.numLayers(); i++) {
            String p = "model.layers." + i + ".";
            s.put(p + "input_layernorm.weight", new Shape(h));
            s.put(p + "self_attn.q_proj.weight", new Shape(q, h));
            s.put(p + "self_attn.k_proj.weight", new Shape(kv, h));
            s.put(p + "self_attn.v_proj.weight", new Shape(kv, h));
            if (c.attentionBias()) {
                s.put(p + "self_attn.q_proj.bias", new Shape(q));
                s.put(p + "self_attn.k_proj.bias", new Shape(kv));
                s.put(p + "self_attn.v_proj.bias", new Shape(kv));
            }
            if (c.qkNorm()) {
                s.put(p + "self_attn.q_norm.weight", new Shape(c.headDim()));
                s.put(p + "self_attn.k_norm.weight", new Shape(c.headDim()));
            }
            s.put(p + "self_attn.o_proj.weight", new Shape(h, q));
            if (c.outputBias()) {
                s.put(p + "self_attn.o_proj.bias", new Shape(h));
            }
            s.put(p + "post_attention_layernorm.weight", new Shape(h));
            s.put(p + "mlp.gate_proj.weight", new Shape(c.intermediateSize(), h));
            s.put(p + "mlp.up_proj.weight", new Shape(c.intermediateSize(), h));
            s.put(p + "mlp.down_proj.weight", new Shape(h, c.intermediateSize()));
            if (c.mlpBias()) {
                s.put(p + "mlp.gate_proj.bias", new Shape(c.intermediateSize()));
                s.put(p + "mlp.up_proj.bias", new Shape(c.intermediateSize()));
                s.put(p + "mlp.down_proj.bias", new Shape(h));
            }
        }
        s.put("model.norm.weight", new Shape(h));
        if (!c.tieWordEmbeddings()) {
            s.put("lm_head.weight", new Shape(c.vocabSize(), h));
        }
        return s;
    }

    public ModelConfig config() {
        return config;
    }

    public Device device() {
        return manager.getDevice();
    }

    /**
     * The trainable tensors by Hugging Face name (with LoRA, the adapters only): the learner attaches gradients to
     * them and updates them in place, and a weight version is exactly these.
     */
    public Map<String, NDArray> parameters() {
        return Collections.unmodifiableMap(weights);
    }

    /**
     * A copy of this model's trainable weights, its own memory, for a replica (a sampler) on the same device; with
     * LoRA the frozen base is shared, not copied.
     */
    public PolicyModel replica() {
        return replica(null);
    }

    /**
     * A copy for a replica that never trains (a sampler, the KL reference), its weights in {@code precision}: a
     * model without LoRA is copied in that dtype; adapters stay fp32 over the shared base (they are small, and
     * they are what each weight version replaces).
     */
    public PolicyModel replica(InferencePrecision precision) {
        boolean keepType = precision == null || lora != null;
        NDManager copyManager = NDManager.newBaseManager(device());
        Map<String, NDArray> copies = new LinkedHashMap<>();
        weights.forEach((name, w) -> copies.put(name, castCopy(w, keepType ? w.getDataType() : precision.dataType(),
                copyManager)));
        PolicyModel replica = new PolicyModel(config, copyManager, copies, frozen, lora);
        replica.vocabulary = vocabulary;
        return replica;
    }

    /**
     * The same weights without gradients, for decoding: views of the same storage (nothing is copied, and a load
     * or an optimizer update of this model shows through), so a forward pass over them records no autograd graph.
     * Without it, decoding with the learner's weights (which require gradients) on a thread in grad mode chains
     * every step's graph through the KV cache's in-place writes and keeps it until the cache is freed. Closing
     * the view frees only its handles.
     */
    public PolicyModel inferenceView() {
        // Its own manager, like a copy's: a published version's views are not the model's arrays.
        NDManager viewManager = NDManager.newBaseManager(device());
        Map<String, NDArray> views = new LinkedHashMap<>();
        weights.forEach((name, w) -> {
            NDArray view = w.stopGradient();
            view.attach(viewManager);
            views.put(name, view);
        });
        PolicyModel view = new PolicyModel(config, viewManager, views, frozen, lora);
        view.vocabulary = vocabulary;
        return view;
    }

    /** The {@link #inferenceView} that {@link DecodeBatch} decodes with: the same numbers, faster at few rows (see {@link #linear}). */
    public PolicyModel decodingView() {
        PolicyModel view = inferenceView();
        view.weightsFirst = true;
        return view;
    }

    /** A copy of weight {@code w} without gradient, owned by {@code owner}; leaves nothing behind in this model. */
    NDArray detachedCopy(NDArray w, NDManager owner) {
        return castCopy(w, w.getDataType(), owner);
    }

    /** A copy of weight {@code w} in {@code type} without gradient, owned by {@code owner}. */
    static NDArray castCopy(NDArray w, DataType type, NDManager owner) {
        try (NDArray view = w.stopGradient()) {
            // toType to the same dtype is the same storage even with copy = true (libtorch's to()): duplicate it.
            NDArray copy = type == w.getDataType() ? view.duplicate() : view.toType(type, true);
            copy.attach(owner);
            return copy;
        }
    }

    /** The dtype this model computes in: its weights' (fp32, or fp16 for weights nothing trains). */
    public DataType computeType() {
        return w("model.embed_tokens.weight").getDataType();
    }

    /**
     * Overwrites every weight with the tensor of the same name in {@code source} (same shapes), on the device,
     * converted to this model's dtype where it differs (an fp16 replica loading the learner's fp32 version).
     */
    public void loadWeights(Map<String, NDArray> source) {
        if (!source.keySet().equals(weights.keySet())) {
            throw new IllegalArgumentException("weights to load do not match this model's tensors");
        }
        // A native copy into each weight's storage (through detached views, so autograd never objects nor records):
        // NDArray.copyTo goes through a Java direct buffer per tensor that only a garbage collection frees, so
        // resident memory would grow with every version a replica loads.
        updateWeights(() -> weights.forEach((name, w) -> {
            try (NDArray target = w.stopGradient(); NDArray values = source.get(name).stopGradient()) {
                target.set(EVERYTHING, values); // converts to the target's dtype, as cast() relies on
            }
        }));
    }

    /** Runs {@code change}, which changes the weights' values in place, while no reader of them runs. */
    public void updateWeights(Runnable change) {
        weightsLock.writeLock().lock();
        try {
            change.run();
            revision++;
        } finally {
            weightsLock.writeLock().unlock();
        }
    }

    /** How many times the weights' values have changed ({@link #updateWeights}). */
    public long revision() {
        weightsLock.readLock().lock();
        try {
            return revision;
        } finally {
            weightsLock.readLock().unlock();
        }
    }

    /**
     * Runs {@code read} on the weights if they are still at {@code expectedRevision}, holding off changes
     * meanwhile; returns whether it ran.
     */
    public boolean readWeights(long expectedRevision, Runnable read) {
        weightsLock.readLock().lock();
        try {
            if (revision != expectedRevision) {
                return false;
            }
            read.run();
            return true;
        } finally {
            weightsLock.readLock().unlock();
        }
    }

    // ---------------------------------------------------------------- whole sequences (learner path)

    /**
     * Logits for every position of right-padded sequences {@code ids} [B, L] (int64): [B, L, vocab].
     * Padding after a sequence's end never influences its real positions (attention is causal).
     */
    public NDArray logits(NDArray ids) {
        return lmHead(hiddenStates(ids));
    }

    /** Final hidden states [B, L, hidden] of right-padded sequences {@code ids} [B, L], in {@code ids}' manager. */
    NDArray hiddenStates(NDArray ids) {
        long length = ids.getShape().get(1);
        NDArray positions = ids.getManager().arange(0, length, 1, DataType.FLOAT32).expandDims(0);
        return forward(ids, positions, new CausalAttention());
    }

    /**
     * Log-probabilities of {@code targets} [B, L] under softmax(logits / temperature) at each position of
     * {@code ids} [B, L]: the quantity the learner differentiates. Returns [B, L]. The vocabulary-wide part (the
     * lm_head, the log-softmax) runs on {@code chunkPositions} positions of a row at a time, so its transients
     * are [B, chunk, vocab] instead of [B, L, vocab]; the result and its gradients do not depend on the chunk.
     */
    public NDArray tokenLogProbs(NDArray ids, NDArray targets, float temperature, int chunkPositions) {
        if (chunkPositions < 1) {
            throw new IllegalArgumentException("chunk of positions must be >= 1, got " + chunkPositions);
        }
        return logProbsOf(hiddenStates(ids), targets, temperature, chunkPositions);
    }

    /** log softmax(lm_head(hidden) / T)[targets] of final hidden states [B, L, hidden], a chunk of positions at a time. */
    private NDArray logProbsOf(NDArray hidden, NDArray targets, float temperature, int chunkPositions) {
        long length = hidden.getShape().get(1);
        NDList chunks = new NDList();
        for (long from = 0; from < length; from += chunkPositions) {
            long to = Math.min(length, from + chunkPositions);
            NDIndex span = new NDIndex(":, {}:{}", from, to);
            chunks.add(chunkLogProbs(hidden.get(span), targets.get(span), temperature));
        }
        return chunks.size() == 1 ? chunks.head() : NDArrays.concat(chunks, 1);
    }

    /**
     * {@link #tokenLogProbs(NDArray, NDArray, float, int)} for a backward pass that recomputes what it needs instead
     * of keeping activations (gradient checkpointing): the forward pass runs without autograd, keeping only each
     * layer's input [B, L, hidden], and returns the log-probs as a leaf. The loss's backward pass stops there; then
     * {@link LayerRecompute#backwardThroughLayers} carries the gradient down: through the final norm and the
     * lm_head one chunk of positions at a time, then one layer at a time. The micro-batch holds the layers' inputs
     * and one layer's (or one logits chunk's) activations instead of all of them, for one more forward pass of
     * compute; the gradients are the same.
     */
    public LayerRecompute tokenLogProbsRecomputingLayers(NDArray ids, NDArray targets, float temperature,
                                                         int chunkPositions) {
        NDManager m = ids.getManager();
        NDArray positions = m.arange(0, ids.getShape().get(1), 1, DataType.FLOAT32).expandDims(0);
        NDArray[] rotary = rotary(positions);
        NDArray[] inputs = new NDArray[config.numLayers() + 1];
        NDArray logProbs;
        try (PolicyModel frozen = inferenceView()) {
            NDArray x = frozen.embed(ids);
            for (int layer = 0; layer < config.numLayers(); layer++) {
                inputs[layer] = x;
                x = frozen.block(x, layer, rotary, new CausalAttention());
            }
            inputs[config.numLayers()] = x;
            logProbs = frozen.logProbsOf(frozen.rmsNorm(x, frozen.w("model.norm.weight")), targets, temperature,
                    chunkPositions);
        }
        logProbs.setRequiresGradient(true); // a leaf: the loss's backward pass stops here and leaves its gradient
        return new LayerRecompute(ids, targets, temperature, chunkPositions, rotary, inputs, logProbs);
    }

    /** The state of {@link #tokenLogProbsRecomputingLayers} between the loss's backward pass and the layers'. */
    public final class LayerRecompute {
        private final NDArray ids;
        private final NDArray targets;
        private final float temperature;
        private final int chunkPositions;
        private final NDArray[] rotary;
        /** Layer i's input for i < layers, the last layer's output at [layers]: no autograd graph behind any. */
        private final NDArray[] inputs;
        private final NDArray logProbs;

        private LayerRecompute(NDArray ids, NDArray targets, float temperature, int chunkPositions, NDArray[] rotary,
                               NDArray[] inputs, NDArray logProbs) {
            this.ids = ids;
            this.targets = targets;
            this.temperature = temperature;
            this.chunkPositions = chunkPositions;
            this.rotary = rotary;
            this.inputs = inputs;
            this.logProbs = logProbs;
        }

        /** log π of the targets [B, L], a leaf: a loss's backward pass leaves its gradient here. */
        public NDArray logProbs() {
            return logProbs;
        }

        /**
         * After {@code collector}'s backward pass of a loss of {@link #logProbs}: recomputes, with autograd, the final
         * norm and log-softmax a chunk of positions at a time, then each layer from its kept input, last to first,
         * and back-propagates the gradient of each part's output through it (the backward pass of
         * sum(output · gradient)), which adds the part's weight gradients and yields its input's; then the
         * embedding's. Each part's graph and activations are freed before the next.
         */
        public void backwardThroughLayers(ai.djl.training.GradientCollector collector) {
            NDManager m = ids.getManager();
            NDArray last = inputs[inputs.length - 1];
            last.setRequiresGradient(true);
            try (NDArray logProbGradient = logProbs.getGradient()) {
                long length = last.getShape().get(1);
                for (long from = 0; from < length; from += chunkPositions) {
                    try (NDManager scope = m.newSubManager()) {
                        NDIndex span = new NDIndex(":, {}:{}", from, Math.min(length, from + chunkPositions));
                        NDArray slice = last.get(span);
                        NDArray chunkTargets = targets.get(span);
                        NDArray gradient = logProbGradient.get(span);
                        scope.tempAttachAll(slice, chunkTargets, gradient);
                        NDArray picked = chunkLogProbs(rmsNorm(slice, w("model.norm.weight")), chunkTargets, temperature);
                        collector.backward(picked.mul(gradient).sum());
                    }
                }
            }
            NDArray upstream = detachedGradient(last, m);
            for (int layer = inputs.length - 2; layer >= 0; layer--) {
                try (NDManager scope = m.newSubManager()) {
                    NDArray input = inputs[layer];
                    input.attach(scope); // freed with the layer: nothing below needs it
                    input.setRequiresGradient(true);
                    NDArray output = block(input, layer, rotary, new CausalAttention());
                    upstream.attach(scope);
                    collector.backward(output.mul(upstream).sum());
                    upstream = detachedGradient(input, m);
                }
            }
            if (weights.containsKey("model.embed_tokens.weight")) {
                try (NDManager scope = m.newSubManager()) {
                    upstream.attach(scope);
                    scope.tempAttachAll(ids);
                    collector.backward(embed(ids).mul(upstream).sum());
                }
            } else {
                upstream.close();
            }
        }

        /** A copy in {@code owner} of the gradient backward left on leaf {@code leaf}. */
        private static NDArray detachedGradient(NDArray leaf, NDManager owner) {
            try (NDArray gradient = leaf.getGradient()) {
                NDArray copy = gradient.duplicate();
                copy.attach(owner);
                return copy;
            }
        }
    }

    /**
     * Hands {@code perChunk} the logits [B, c, vocab] of the positions of {@code ids} [B, L] from {@code from} on,
     * {@code chunkPositions} at a time, each chunk freed after it: whole-sequence logits without ever holding
     * [B, L, vocab]. Without gradients.
     */
    public void forEachLogitsChunk(NDArray ids, long from, int chunkPositions, java.util.function.Consumer<NDArray> perChunk) {
        NDManager m = ids.getManager();
        long length = ids.getShape().get(1);
        try (PolicyModel frozen = inferenceView(); NDManager work = m.newSubManager()) {
            work.tempAttachAll(ids);
            NDArray hidden = frozen.hiddenStates(ids);
            for (long start = from; start < length; start += chunkPositions) {
                try (NDManager chunk = work.newSubManager()) {
                    NDArray part = hidden.get(new NDIndex(":, {}:{}", start, Math.min(length, start + chunkPositions)));
                    part.attach(chunk);
                    perChunk.accept(frozen.lmHead(part));
                }
            }
        }
    }

    /** {@link #tokenLogProbs(NDArray, NDArray, float, int)} over all positions at once. */
    public NDArray tokenLogProbs(NDArray ids, NDArray targets, float temperature) {
        return tokenLogProbs(ids, targets, temperature, Integer.MAX_VALUE);
    }

    /** log softmax(lm_head(hidden) / T)[target] for hidden [B, c, h]; the [B, c, vocab] temporaries die here. */
    private NDArray chunkLogProbs(NDArray hidden, NDArray targets, float temperature) {
        NDManager owner = hidden.getManager();
        try (NDManager scope = owner.newSubManager()) {
            scope.tempAttachAll(hidden, targets);
            NDArray logProbs = Constants.divide(lmHead(hidden), temperature).logSoftmax(-1);
            NDArray picked = logProbs.gather(targets.expandDims(-1), -1).squeeze(-1);
            picked.attach(owner);
            return picked;
        }
    }

    // ---------------------------------------------------------------- the transformer

    /**
     * Final hidden states [B, L, hidden] for token ids [B, L] at rotary positions [B or 1, L]; the attention
     * strategy decides what each position may see (the causal prefix, or the KV cache plus itself).
     */
    NDArray forward(NDArray ids, NDArray positions, Attention attention) {
        NDArray x = embed(ids);
        NDArray[] rotary = rotary(positions);
        for (int layer = 0; layer < config.numLayers(); layer++) {
            x = block(x, layer, rotary, attention);
        }
        return rmsNorm(x, w("model.norm.weight"));
    }

    /**
     * One transformer layer. Its temporaries live in a scope closed at the end of the layer: autograd keeps what
     * the backward pass needs by reference, everything else (and, without gradients, everything) is freed here
     * instead of when the caller's manager closes, so a forward pass holds one layer's working set, not all.
     */
    private NDArray block(NDArray x, int layer, NDArray[] rotary, Attention attention) {
        NDManager owner = x.getManager();
        try (NDManager scope = owner.newSubManager()) {
            scope.tempAttachAll(x);
            String p = "model.layers." + layer + ".";
            NDArray h = rmsNorm(x, w(p + "input_layernorm.weight"));
            NDArray attended = x.add(selfAttention(h, layer, rotary, attention));
            h = rmsNorm(attended, w(p + "post_attention_layernorm.weight"));
            NDArray out = attended.add(mlp(h, p));
            out.attach(owner);
            return out;
        }
    }

    /** Logits [..., vocabulary] of final hidden states, always fp32 (sampling and log-softmax need it). */
    NDArray lmHead(NDArray hidden) {
        NDArray head = config.tieWordEmbeddings() ? w("model.embed_tokens.weight") : w("lm_head.weight");
        if (vocabulary == config.vocabSize()) {
            return cast(linear(hidden, head, null), DataType.FLOAT32);
        }
        // A view of the token rows (no copy); its handle goes, autograd keeps what the backward pass needs.
        try (NDArray tokenRows = head.get(new NDIndex("0:{}", vocabulary))) {
            return cast(linear(hidden, tokenRows, null), DataType.FLOAT32);
        }
    }

    /**
     * {@code x} in {@code type}: itself when it is already, else a copy autograd differentiates through. DJL's
     * {@code toType} is not recorded by autograd (the backward pass stops there), so the copy is written into a new
     * array of the target dtype, which libtorch records as an in-place copy whose gradient it casts back.
     */
    static NDArray cast(NDArray x, DataType type) {
        if (x.getDataType() == type) {
            return x;
        }
        NDArray out = x.getManager().zeros(x.getShape(), type);
        out.set(EVERYTHING, x);
        return out;
    }

    private NDArray embed(NDArray ids) {
        return ids.getNDArrayInternal().embedding(ids, w("model.embed_tokens.weight"), SparseFormat.DENSE).head();
    }

    private NDArray selfAttention(NDArray x, int layer, NDArray[] rotary, Attention attention) {
        String p = "model.layers." + layer + ".self_attn.";
        long batch = x.getShape().get(0);
        long length = x.getShape().get(1);
        int d = config.headDim();
        NDArray q = project(x, p + "q_proj").reshape(batch, length, config.numHeads(), d);
        NDArray k = project(x, p + "k_proj").reshape(batch, length, config.numKvHeads(), d);
        NDArray v = project(x, p + "v_proj").reshape(batch, length, config.numKvHeads(), d);
        if (config.qkNorm()) {
            q = rmsNorm(q, w(p + "q_norm.weight"));
            k = rmsNorm(k, w(p + "k_norm.weight"));
        }
        q = applyRotary(q, rotary).transpose(0, 2, 1, 3); // [B, heads, L, d]
        k = applyRotary(k, rotary).transpose(0, 2, 1, 3); // [B, kvHeads, L, d]
        v = v.transpose(0, 2, 1, 3);
        NDArray out = attention.attend(layer, q, k, v, config.kvGroups()); // [B, heads, L, d]
        out = out.transpose(0, 2, 1, 3).reshape(batch, length, (long) config.numHeads() * d);
        return project(out, p + "o_proj");
    }

    private NDArray mlp(NDArray x, String p) {
        NDArray gate = project(x, p + "mlp.gate_proj");
        NDArray up = project(x, p + "mlp.up_proj");
        NDArray silu = gate.mul(gate.getNDArrayInternal().sigmoid());
        return project(silu.mul(up), p + "mlp.down_proj");
    }

    /** x / rms(x) · weight, the statistics in fp32 whatever x's dtype (fp16 squares overflow past 256). */
    private NDArray rmsNorm(NDArray x, NDArray weight) {
        NDArray wide = cast(x, DataType.FLOAT32);
        NDArray rms = wide.square().mean(new int[]{-1}, true).add((float) config.rmsNormEps()).sqrt();
        return cast(wide.div(rms), weight.getDataType()).mul(weight);
    }

    /** cos and sin of position × frequency, laid out [B or 1, L, 1, d] as HF's rotate-half expects. */
    private NDArray[] rotary(NDArray positions) {
        NDArray angles = positions.expandDims(-1).mul(inverseFrequencies); // [B, L, d/2]
        angles = angles.concat(angles, -1).expandDims(2);                  // [B, L, 1, d]
        // Angles in fp32 (positions past 2048 are not exact in fp16), the factors in the model's dtype.
        DataType type = computeType();
        return new NDArray[]{cast(angles.cos(), type), cast(angles.sin(), type)};
    }

    /** x·cos + rotate_half(x)·sin, where rotate_half(x) = [-x2, x1] for the two halves of the head dim. */
    private NDArray applyRotary(NDArray x, NDArray[] rotary) {
        int half = config.headDim() / 2;
        NDArray x1 = x.get("..., :" + half);
        NDArray x2 = x.get("..., " + half + ":");
        NDArray rotated = x2.neg().concat(x1, -1);
        return x.mul(rotary[0]).add(rotated.mul(rotary[1]));
    }

    /** The linear map {@code module} (its weight and bias), plus (alpha / r) · B A x where it has adapters. */
    private NDArray project(NDArray x, String module) {
        NDArray y = linear(x, w(module + ".weight"), bias(module + ".bias"));
        NDArray a = lora == null ? null : weights.get(module + ".lora_A.weight");
        if (a == null) {
            return y;
        }
        NDArray b = weights.get(module + ".lora_B.weight");
        if (a.getDataType() != x.getDataType()) {
            // Over an fp16 base the fp32 adapters compute in fp16, as mixed precision does: casting the [r, in] and
            // [out, r] adapters costs nothing, casting x to fp32 would keep an fp32 copy of every input.
            a = cast(a, x.getDataType());
            b = cast(b, x.getDataType());
        }
        return y.add(Constants.multiply(linear(linear(x, a, null), b, null), lora.scaling()));
    }

    /**
     * x · Wᵀ + b over x's last dimension: {@link #weightsFirstLinear} in a {@link #decodingView}, torch's linear
     * everywhere else. The learner's backward pass through torch's linear measured ~5% faster, and its passes with
     * and without gradients must round alike (log-prob ratios of exactly 1 at the start of a step, recomputed layers
     * equal to kept ones).
     */
    private NDArray linear(NDArray x, NDArray weight, NDArray bias) {
        return weightsFirst ? weightsFirstLinear(x, weight, bias) : x.getNDArrayInternal().linear(x, weight, bias).head();
    }

    /**
     * x · Wᵀ + b computed as (W · xᵀ)ᵀ, a view: MKL then packs the few rows of x on every call instead of the whole
     * weight, 1.2–1.4× faster per decode step at 8 to 64 rows and no slower at one or at a prefill's hundreds, and the
     * next linear takes the transposed view as it is. Without gradients (decoding; {@code bench decode} times the
     * decode's projections with it).
     */
    public static NDArray weightsFirstLinear(NDArray x, NDArray weight, NDArray bias) {
        Shape shape = x.getShape();
        long in = shape.tail();
        NDArray y = weight.matMul(x.reshape(shape.size() / in, in).transpose());
        y.attach(x.getManager()); // a product lands in its left operand's manager: the model's, for as long as it lives
        y = y.transpose();
        if (bias != null) {
            y = y.add(bias);
        }
        long[] dims = shape.getShape().clone();
        dims[dims.length - 1] = weight.getShape().get(0);
        return y.reshape(new Shape(dims));
    }

    private NDArray w(String name) {
        NDArray a = weights.get(name);
        if (a == null) {
            a = frozen.get(name);
        }
        if (a == null) {
            throw new IllegalStateException("model has no weight " + name);
        }
        return a;
    }

    private NDArray bias(String name) {
        NDArray b = weights.get(name);
        return b != null ? b : frozen.get(name);
    }

    // ---------------------------------------------------------------- attention strategies

    /** What a query position may attend to. Queries [B, heads, L, d]; keys/values [B, kvHeads, L, d]. */
    interface Attention {
        NDArray attend(int layer, NDArray q, NDArray k, NDArray v, int groups);
    }

    /** Scaled dot-product attention where the heads of one KV group share a key/value head. */
    static NDArray groupedAttention(NDArray q, NDArray k, NDArray v, int groups, NDArray additiveMask) {
        Shape qs = q.getShape(); // [B, heads, Lq, d]
        long batch = qs.get(0);
        long kvHeads = k.getShape().get(1);
        long lq = qs.get(2);
        long d = qs.get(3);
        // Group queries by their KV head instead of repeating K/V: [B, kvHeads, groups·Lq, d].
        NDArray grouped = q.reshape(batch, kvHeads, groups * lq, d);
        // A new array lands in its input's manager: for a KV cache that is the long-lived cache manager, so the
        // transposed keys are handed to the query's (per-step) manager, or one cache-sized array per layer and
        // decode step would pile up until the batch closes.
        NDArray keysT = k.transpose(0, 1, 3, 2);
        keysT.attach(grouped.getManager());
        // Scores, mask and softmax in fp32 whatever the model's dtype (the masks' -1e30 is -inf in fp16).
        NDArray scores = Constants.divide(cast(grouped.matMul(keysT), DataType.FLOAT32), Math.sqrt(d));
        scores = scores.reshape(batch, kvHeads, groups, lq, -1).add(additiveMask);
        NDArray probs = scores.softmax(-1).reshape(batch, kvHeads, groups * lq, -1);
        return cast(probs, v.getDataType()).matMul(v).reshape(batch, kvHeads * groups, lq, d);
    }

    /** Causal attention over the sequence itself; optionally keeps each layer's K/V to seed a cache. */
    static final class CausalAttention implements Attention {
        private final NDArray[][] keptKeysValues;
        private final NDManager keptIn;

        CausalAttention() {
            this(null, null);
        }

        /** Keeps each layer's keys and values in {@code keptKeysValues}, owned by {@code keptIn} (the layer's scope closes). */
        CausalAttention(NDArray[][] keptKeysValues, NDManager keptIn) {
            this.keptKeysValues = keptKeysValues;
            this.keptIn = keptIn;
        }

        @Override
        public NDArray attend(int layer, NDArray q, NDArray k, NDArray v, int groups) {
            if (keptKeysValues != null) {
                k.attach(keptIn);
                v.attach(keptIn);
                keptKeysValues[layer] = new NDArray[]{k, v};
            }
            long length = q.getShape().get(2);
            NDManager m = q.getManager();
            NDArray row = m.arange(0, length, 1, DataType.INT64);
            NDArray future = row.expandDims(0).gt(row.expandDims(1)); // [L, L], key > query
            NDArray mask = m.zeros(new Shape(length, length)).add(future.toType(DataType.FLOAT32, false).mul(-1e30f));
            return groupedAttention(q, k, v, groups, mask);
        }
    }

    @Override
    public void close() {
        manager.close();
        if (frozenOwner != null) {
            frozenOwner.close();
        }
    }

    NDManager manager() {
        return manager;
    }

    static NDIndex rows(NDArray indices) {
        return new NDIndex("{}", indices);
    }
}
