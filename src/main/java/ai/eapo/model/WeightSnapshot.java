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
 * One published weight version. Every sampler in the same JVM loads from it between its decode steps (nothing
 * is serialized), and the weight server takes the bytes it streams to other nodes from it. Two kinds:
 * {@link #live} reads the learner's own weights (no copy: the learner's node holds no weights beyond the
 * learner's and the samplers' replicas) and is valid until the learner next changes them, which waits for a
 * read in progress; {@link #of} is a frozen copy. Reference-counted across threads: the publisher holds one
 * reference until a newer version replaces it, and a reader {@link #retain}s it while reading; the handles
 * (and a copy's memory) are freed when the last reference is released.
 */
public final class WeightSnapshot {

    private final long version;
    private final NDManager manager;
    private final Map<String, NDArray> tensors;
    private final WeightLayout layout;
    private final AtomicInteger references = new AtomicInteger(1);
    /** The model a live snapshot reads, and the revision of its weights this version is; null for a copy. */
    private final PolicyModel source;
    private final long revision;

    private WeightSnapshot(long version, NDManager manager, Map<String, NDArray> tensors, PolicyModel source,
                           long revision) {
        this.version = version;
        this.manager = manager;
        this.tensors = Collections.unmodifiableMap(tensors);
        this.layout = WeightLayout.of(this.tensors);
        this.source = source;
        this.revision = revision;
    }

    /** Copies {@code model}'s weights as version {@code version}; the caller holds the first reference. */
    public static WeightSnapshot of(PolicyModel model, long version) {
        NDManager manager = NDManager.newBaseManager(model.device());
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        model.parameters().forEach((name, w) -> tensors.put(name, model.detachedCopy(w, manager)));
        return new WeightSnapshot(version, manager, tensors, null, 0);
    }

    /**
     * {@code model}'s weights as they are now, as version {@code version}, without a copy: reads succeed until the
     * model's weights next change ({@link PolicyModel#updateWeights}), then answer false like a freed snapshot.
     * The caller holds the first reference.
     */
    public static WeightSnapshot live(PolicyModel model, long version) {
        PolicyModel view = model.inferenceView();
        return new WeightSnapshot(version, view.manager(), view.parameters(), model, model.revision());
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
     * newer one exists, or the learner's weights moved on). Holds a reference while copying; device tensors are copied to the host through a
     * temporary manager that is closed before returning.
     */
    public boolean copyBytes(ByteSink destination) {
        return read(() -> {
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
            }
        });
    }

    /** Runs {@code read} on this version's tensors while they are this version; false when they no longer are. */
    private boolean read(Runnable read) {
        if (!retain()) {
            return false;
        }
        try {
            if (source == null) {
                read.run();
                return true;
            }
            return source.readWeights(revision, read);
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

    /** Loads this version into {@code replica}; false when the snapshot was freed or the weights moved on (a newer version exists). */
    public boolean loadInto(PolicyModel replica) {
        return read(() -> replica.loadWeights(tensors));
    }
}
