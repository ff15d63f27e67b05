package ai.eapo.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Sequences decoded together with a key/value cache (continuous batching): sequences {@link #join} between
 * steps with one prefill of their prompts, every {@link #step} feeds one token per sequence ({@link #extend}
 * any number, so a row that fell behind catches up), and finished sequences {@link #leave}. Each row keeps its
 * own length; the cache is laid out [rows, kvHeads, capacity, headDim] per layer, grows by doubling, and
 * positions past a row's length are masked out.
 *
 * <p>The cache is owned by this batch (closed with it); logits are returned in the caller's manager so the
 * caller can close each step's work in one go.
 */
public final class DecodeBatch implements AutoCloseable {

    /** First cache capacity, in tokens; it doubles whenever a row would run past it. */
    private static final long INITIAL_CAPACITY = 64;
    private static final float MASKED = -1e30f;

    /** The decoded model as a decoding view: its weights without gradients. */
    private final PolicyModel model;
    private final NDManager cacheManager;
    private final List<Long> sequenceIds = new ArrayList<>();
    private long[] lengths = new long[0];
    private final NDArray[] keys;
    private final NDArray[] values;
    private long capacity;

    public DecodeBatch(PolicyModel model) {
        this.model = model.decodingView();
        this.cacheManager = this.model.manager().newSubManager();
        this.keys = new NDArray[model.config().numLayers()];
        this.values = new NDArray[model.config().numLayers()];
    }

    public int size() {
        return sequenceIds.size();
    }

    /** Sequence ids in row order: row i of {@link #step}'s input and output belongs to sequenceIds().get(i). */
    public List<Long> sequenceIds() {
        return List.copyOf(sequenceIds);
    }

    /**
     * Adds sequences with their prompts (token ids, each non-empty) and returns the logits [n, vocab] of the
     * token after each prompt, in {@code out}. The new rows are appended after the existing ones.
     */
    public NDArray join(List<Long> ids, List<long[]> prompts, NDManager out) {
        if (ids.size() != prompts.size() || ids.isEmpty()) {
            throw new IllegalArgumentException("join needs one prompt per id, got " + ids.size() + " ids and " + prompts.size() + " prompts");
        }
        for (Long id : ids) {
            if (sequenceIds.contains(id)) {
                throw new IllegalArgumentException("sequence " + id + " is already in the batch");
            }
        }
        int n = prompts.size();
        int longest = prompts.stream().mapToInt(p -> p.length).max().orElseThrow();
        long[] padded = new long[n * longest];
        long[] last = new long[n];
        for (int i = 0; i < n; i++) {
            if (prompts.get(i).length == 0) {
                throw new IllegalArgumentException("sequence " + ids.get(i) + " has an empty prompt");
            }
            System.arraycopy(prompts.get(i), 0, padded, i * longest, prompts.get(i).length);
            last[i] = prompts.get(i).length - 1;
        }
        int layers = model.config().numLayers();
        try (NDManager work = out.newSubManager()) {
            NDArray tokens = work.create(padded, new Shape(n, longest));
            NDArray positions = work.arange(0, longest, 1, DataType.FLOAT32).expandDims(0);
            NDArray[][] kept = new NDArray[layers][];
            NDArray hidden = model.forward(tokens, positions, new PolicyModel.CausalAttention(kept, work));
            NDArray lastHidden = hidden.get(new NDIndex("{}, {}", work.arange(0, n, 1, DataType.INT64), work.create(last)));
            NDArray logits = model.lmHead(lastHidden);
            logits.attach(out);

            long needed = Math.max(longest, maxLength());
            ensureCapacity(needed + 1);
            for (int layer = 0; layer < layers; layer++) {
                keys[layer] = appendRows(keys[layer], kept[layer][0]);
                values[layer] = appendRows(values[layer], kept[layer][1]);
            }
            long[] grown = java.util.Arrays.copyOf(lengths, lengths.length + n);
            for (int i = 0; i < n; i++) {
                grown[lengths.length + i] = prompts.get(i).length;
            }
            lengths = grown;
            sequenceIds.addAll(ids);
            return logits;
        }
    }

    /**
     * Feeds one token per row (row order of {@link #sequenceIds}) and returns the next-token logits
     * [rows, vocab] in {@code out}.
     */
    public NDArray step(long[] tokens, NDManager out) {
        boolean[] all = new boolean[tokens.length];
        java.util.Arrays.fill(all, true);
        return step(tokens, all, out);
    }

    /**
     * Like {@link #step(long[], NDManager)}, but only rows with {@code advancing[i]} take their token: the
     * others (waiting for a prior's token, say) keep their length and their logits row is meaningless.
     */
    public NDArray step(long[] tokens, boolean[] advancing, NDManager out) {
        if (tokens.length != size() || advancing.length != size()) {
            throw new IllegalArgumentException("step needs one token and one flag per row: " + size() + " rows, "
                    + tokens.length + " tokens, " + advancing.length + " flags");
        }
        List<long[]> fed = new ArrayList<>(tokens.length);
        for (int i = 0; i < tokens.length; i++) {
            fed.add(advancing[i] ? new long[]{tokens[i]} : new long[0]);
        }
        return extend(fed, out);
    }

    /**
     * Feeds each row its new tokens (row order of {@link #sequenceIds}; an empty array leaves the row as it is)
     * in one forward pass and returns, in {@code out}, the logits [rows, vocab] of the token after each row's
     * last new token (meaningless for a row fed nothing). This is how a sequence that went on without this batch
     * (the policy's tokens between two consultations of a prior) catches up, instead of prefilling again.
     *
     * <p>The rows are padded to the longest feed. Padding queries write their keys and values past their row's
     * new length, where they stay masked until the row's next feed overwrites them.
     */
    public NDArray extend(List<long[]> newTokens, NDManager out) {
        int rows = size();
        if (newTokens.size() != rows) {
            throw new IllegalArgumentException("extend needs one token array per row: " + rows + " rows, "
                    + newTokens.size() + " arrays");
        }
        int width = Math.max(1, newTokens.stream().mapToInt(t -> t.length).max().orElse(0));
        long[] ids = new long[rows * width];
        long[] rowOf = new long[rows * width];
        long[] slots = new long[rows * width]; // cache slot (= position) of every fed token, padding included
        long[] last = new long[rows];
        for (int b = 0; b < rows; b++) {
            long[] fed = newTokens.get(b);
            System.arraycopy(fed, 0, ids, b * width, fed.length);
            for (int i = 0; i < width; i++) {
                rowOf[b * width + i] = b;
                slots[b * width + i] = lengths[b] + i;
            }
            last[b] = Math.max(0, fed.length - 1);
        }
        ensureCapacity(maxLength() + width);
        NDArray logits;
        try (NDManager work = out.newSubManager()) {
            NDArray tokens = work.create(ids, new Shape(rows, width));
            NDArray writeAt = work.create(slots, new Shape(rows, width));
            NDIndex at = new NDIndex("{}, :, {}, :", work.create(rowOf, new Shape(rows, width)), writeAt);
            // Fed token i of row b sees slots j <= length_b + i: the row's cache, the earlier new tokens, itself.
            NDArray mask = work.arange(0, capacity, 1, DataType.INT64).gt(writeAt.expandDims(-1))
                    .toType(DataType.FLOAT32, false).mul(MASKED).reshape(rows, 1, 1, width, capacity);
            NDArray positions = writeAt.toType(DataType.FLOAT32, false);
            NDArray hidden = model.forward(tokens, positions, (layer, q, k, v, groups) -> {
                keys[layer].set(at, k.transpose(0, 2, 1, 3)); // [rows, width, kvHeads, d], as indexed by at
                values[layer].set(at, v.transpose(0, 2, 1, 3));
                return PolicyModel.groupedAttention(q, keys[layer], values[layer], groups, mask);
            });
            // Each row's last new token; a decode step's only one needs no gather.
            NDArray lastHidden = width == 1 ? hidden.squeeze(1) : lastOfEachRow(hidden, last, work);
            logits = model.lmHead(lastHidden);
            logits.attach(out);
        }
        for (int b = 0; b < rows; b++) {
            lengths[b] += newTokens.get(b).length;
        }
        return logits;
    }

    /** hidden[b, last[b]] for every row b: [rows, hidden]. */
    private static NDArray lastOfEachRow(NDArray hidden, long[] last, NDManager work) {
        NDArray rowIndex = work.arange(0, last.length, 1, DataType.INT64);
        return hidden.get(new NDIndex("{}, {}", rowIndex, work.create(last)));
    }

    /** Removes the given sequences (unknown ids are ignored) and frees their cache rows. */
    public void leave(Collection<Long> ids) {
        Set<Long> leaving = new HashSet<>(ids);
        List<Long> keptIds = new ArrayList<>();
        List<Long> keptRows = new ArrayList<>();
        for (int i = 0; i < sequenceIds.size(); i++) {
            if (!leaving.contains(sequenceIds.get(i))) {
                keptIds.add(sequenceIds.get(i));
                keptRows.add((long) i);
            }
        }
        if (keptIds.size() == sequenceIds.size()) {
            return;
        }
        long[] keptLengths = keptRows.stream().mapToLong(r -> lengths[r.intValue()]).toArray();
        if (keptIds.isEmpty()) {
            freeCache();
        } else {
            NDArray index = cacheManager.create(keptRows.stream().mapToLong(Long::longValue).toArray());
            for (int layer = 0; layer < keys.length; layer++) {
                keys[layer] = replace(keys[layer], keys[layer].get(PolicyModel.rows(index)));
                values[layer] = replace(values[layer], values[layer].get(PolicyModel.rows(index)));
            }
            index.close();
        }
        sequenceIds.clear();
        sequenceIds.addAll(keptIds);
        lengths = keptLengths;
    }

    private long maxLength() {
        long max = 0;
        for (long l : lengths) {
            max = Math.max(max, l);
        }
        return max;
    }

    /**
     * The cache capacity, in tokens, that holds {@code needed} positions: {@value #INITIAL_CAPACITY} doubled until
     * it fits (the memory budget sizes KV caches with it).
     */
    public static long capacityFor(long needed) {
        long capacity = INITIAL_CAPACITY;
        while (capacity < needed) {
            capacity *= 2;
        }
        return capacity;
    }

    private void ensureCapacity(long needed) {
        if (needed <= capacity) {
            return;
        }
        // capacity is 0 or INITIAL_CAPACITY doubled, so this is the current capacity doubled until it fits
        long grown = capacityFor(needed);
        if (size() > 0) {
            for (int layer = 0; layer < keys.length; layer++) {
                keys[layer] = replace(keys[layer], padPositions(keys[layer], grown));
                values[layer] = replace(values[layer], padPositions(values[layer], grown));
            }
        }
        capacity = grown;
    }

    /** Appends rows holding {@code fresh} [n, kvHeads, len, d] (zero-padded to the capacity) to {@code cache}. */
    private NDArray appendRows(NDArray cache, NDArray fresh) {
        NDArray rows = padPositions(fresh, capacity);
        if (cache == null) {
            rows.attach(cacheManager);
            return rows;
        }
        NDArray joined = cache.concat(rows, 0);
        rows.close();
        return replace(cache, joined);
    }

    private NDArray padPositions(NDArray cache, long newCapacity) {
        Shape s = cache.getShape();
        long missing = newCapacity - s.get(2);
        if (missing == 0) {
            return cache.duplicate();
        }
        NDArray zeros = cacheManager.zeros(new Shape(s.get(0), s.get(1), missing, s.get(3)), cache.getDataType());
        NDArray padded = cache.concat(zeros, 2);
        zeros.close();
        return padded;
    }

    private NDArray replace(NDArray old, NDArray fresh) {
        fresh.attach(cacheManager);
        if (old != null && old != fresh) {
            old.close();
        }
        return fresh;
    }

    private void freeCache() {
        for (int layer = 0; layer < keys.length; layer++) {
            if (keys[layer] != null) {
                keys[layer].close();
                values[layer].close();
            }
            keys[layer] = null;
            values[layer] = null;
        }
        capacity = 0;
    }

    @Override
    public void close() {
        freeCache();
        cacheManager.close();
        model.close();
    }
}
