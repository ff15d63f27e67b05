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

    /** Where {@link #copyBytes} writes: successive pieces of little-endian fp32, in order. */
    @FunctionalInterface
    public interface ByteSink {
        /** Takes the remaining bytes of {@code piece}, a view of a tensor's memory that is not valid afterwards. */
        void write(ByteBuffer piece);
    }

    /**
     * Writes this version's values into {@code destination} as little-endian fp32, tensor after tensor in
     * {@link #layout()} order, {@code layout().totalBytes()} bytes in all; false when the snapshot was freed (a
     * newer one exists). Holds a reference while copying; device tensors are copied to the host through a
     * temporary manager that is closed before returning.
     */
    public boolean copyBytes(ByteSink destination) {
        if (!retain()) {
            return false;
        }
        try (NDManager host = manager.newSubManager(Device.cpu())) {
            for (NDArray tensor : tensors.values()) {
                NDArray onHost = tensor;
                if (!tensor.getDevice().equals(Device.cpu())) {
                    onHost = tensor.toDevice(Device.cpu(), true);
                    onHost.attach(host);
                }
                // A view of the (contiguous) tensor's memory when on the host: no copy before the destination's.
                destination.write(littleEndian(onHost.toByteBuffer(true)));
            }
            return true;
        } finally {
            release();
        }
    }

    /** {@code values} when they are little-endian already, else a little-endian copy of them. */
    private static ByteBuffer littleEndian(ByteBuffer values) {
        if (values.order() == ByteOrder.LITTLE_ENDIAN) {
            return values;
        }
        ByteBuffer copy = ByteBuffer.allocate(values.remaining()).order(ByteOrder.LITTLE_ENDIAN);
        copy.asFloatBuffer().put(values.asFloatBuffer());
        return copy;
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
