package ai.eapo.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One published weight version, frozen: the learner copies its weights once per version, and every sampler
 * in the same JVM loads from this copy between its decode steps (nothing is serialized). Reference-counted
 * across threads: the publisher holds one reference until a newer version replaces it, and a sampler
 * {@link #retain}s it while loading; the memory is freed when the last reference is released.
 */
public final class WeightSnapshot {

    private final long version;
    private final NDManager manager;
    private final Map<String, NDArray> tensors;
    private final AtomicInteger references = new AtomicInteger(1);

    private WeightSnapshot(long version, NDManager manager, Map<String, NDArray> tensors) {
        this.version = version;
        this.manager = manager;
        this.tensors = Collections.unmodifiableMap(tensors);
    }

    /** Copies {@code model}'s weights as version {@code version}; the caller holds the first reference. */
    public static WeightSnapshot of(PolicyModel model, long version) {
        NDManager manager = NDManager.newBaseManager(model.device());
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        model.parameters().forEach((name, w) -> tensors.put(name, model.detachedCopy(w, manager)));
        return new WeightSnapshot(version, manager, tensors);
    }

    public long version() {
        return version;
    }

    /** Takes a reference unless the snapshot is already freed; returns whether it did. */
    public boolean retain() {
        while (true) {
            int n = references.get();
            if (n == 0) {
                return false;
            }
            if (references.compareAndSet(n, n + 1)) {
                return true;
            }
        }
    }

    /** Gives a reference back; the last one frees the tensors. */
    public void release() {
        if (references.decrementAndGet() == 0) {
            manager.close();
        }
    }

    /** Loads this version into {@code replica}; false when the snapshot was freed (a newer one exists). */
    public boolean loadInto(PolicyModel replica) {
        if (!retain()) {
            return false;
        }
        try {
            replica.loadWeights(tensors);
            return true;
        } finally {
            release();
        }
    }
}
