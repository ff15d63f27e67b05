package ai.eapo.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
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
    private final WeightLayout layout;
    private final AtomicInteger references = new AtomicInteger(1);

    private WeightSnapshot(long version, NDManager manager, Map<String, NDArray> tensors) {
        this.version = version;
        this.manager = manager;
        this.tensors = Collections.unmodifiableMap(tensors);
        this.layout = WeightLayout.of(this.tensors);
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

    /** The tensors of this version, in the learner's parameter order. */
    public WeightLayout layout() {
        return layout;
    }

    /**
     * Writes this version's values into {@code destination} as little-endian fp32, tensor after tensor in
     * {@link #layout()} order ({@code destination.length} must be {@code layout().totalBytes()}); false when the
     * snapshot was freed (a newer one exists). Holds a reference while copying; device tensors are copied to
     * the host through a temporary manager that is closed before returning.
     */
    public boolean copyBytes(byte[] destination) {
        if (destination.length != layout.totalBytes()) {
            throw new IllegalArgumentException("version " + version + " has " + layout.totalBytes() + " bytes, not "
                    + destination.length);
        }
        if (!retain()) {
            return false;
        }
        try (NDManager host = manager.newSubManager(Device.cpu())) {
            int offset = 0;
            for (NDArray tensor : tensors.values()) {
                NDArray onHost = tensor;
                if (!tensor.getDevice().equals(Device.cpu())) {
                    onHost = tensor.toDevice(Device.cpu(), true);
                    onHost.attach(host);
                }
                // A view of the (contiguous) tensor's memory when on the host: no copy before this one.
                ByteBuffer values = onHost.toByteBuffer(true);
                int length = values.remaining();
                if (values.order() == ByteOrder.LITTLE_ENDIAN) {
                    values.get(destination, offset, length);
                } else {
                    ByteBuffer.wrap(destination, offset, length).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer()
                            .put(values.asFloatBuffer());
                }
                offset += length;
            }
            return true;
        } finally {
            release();
        }
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
