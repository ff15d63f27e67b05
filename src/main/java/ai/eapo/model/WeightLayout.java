package ai.eapo.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Which tensors a weight version holds, in order, with their shapes; every tensor is fp32. A version's bytes
 * ({@link WeightBytes}) are these tensors' little-endian values one after the other in this order. Travels
 * inside cluster messages (Jackson CBOR), so a node can check that a version fits its model before pulling it.
 */
public record WeightLayout(List<Tensor> tensors) {

    /** fp32. */
    public static final int BYTES_PER_ELEMENT = 4;

    /** One tensor: its Hugging Face name and shape. */
    public record Tensor(String name, long[] shape) {

        public Tensor {
            Objects.requireNonNull(name, "name");
            shape = shape.clone();
            for (long d : shape) {
                if (d < 0) {
                    throw new IllegalArgumentException("tensor '" + name + "' has a negative dimension: " + Arrays.toString(shape));
                }
            }
        }

        public long elements() {
            long n = 1;
            for (long d : shape) {
                n = Math.multiplyExact(n, d);
            }
            return n;
        }

        public long bytes() {
            return Math.multiplyExact(elements(), BYTES_PER_ELEMENT);
        }

        @Override
        public long[] shape() {
            return shape.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Tensor t && name.equals(t.name) && Arrays.equals(shape, t.shape);
        }

        @Override
        public int hashCode() {
            return 31 * name.hashCode() + Arrays.hashCode(shape);
        }

        @Override
        public String toString() {
            return name + Arrays.toString(shape);
        }
    }

    public WeightLayout {
        tensors = List.copyOf(tensors);
        if (tensors.stream().map(Tensor::name).distinct().count() != tensors.size()) {
            throw new IllegalArgumentException("a weight layout names a tensor twice");
        }
    }

    /** {@code model}'s tensors in its parameter order. */
    public static WeightLayout of(PolicyModel model) {
        return of(model.parameters());
    }

    /** The layout of fp32 tensors {@code tensors}, in the map's iteration order. */
    public static WeightLayout of(Map<String, NDArray> tensors) {
        List<Tensor> list = new ArrayList<>(tensors.size());
        tensors.forEach((name, array) -> {
            if (array.getDataType() != DataType.FLOAT32) {
                throw new IllegalArgumentException("tensor '" + name + "' is " + array.getDataType() + ", not fp32");
            }
            list.add(new Tensor(name, array.getShape().getShape()));
        });
        return new WeightLayout(list);
    }

    /** Bytes of one version in this layout. */
    public long totalBytes() {
        long total = 0;
        for (Tensor t : tensors) {
            total = Math.addExact(total, t.bytes());
        }
        return total;
    }

    /**
     * Throws {@link IllegalArgumentException} naming the first tensor of this layout (in its order) that
     * {@code model} lacks or holds with another shape, or else the first tensor of the model this layout lacks.
     */
    public void requireMatches(PolicyModel model) {
        Map<String, NDArray> parameters = model.parameters();
        for (int i = 0; i < tensors.size(); i++) {
            Tensor t = tensors.get(i);
            NDArray mine = parameters.get(t.name());
            if (mine == null) {
                throw new IllegalArgumentException("weight layout does not fit the model: tensor " + i + " '" + t.name()
                        + "' " + Arrays.toString(t.shape) + " is not in the model");
            }
            long[] shape = mine.getShape().getShape();
            if (!Arrays.equals(shape, t.shape)) {
                throw new IllegalArgumentException("weight layout does not fit the model: tensor " + i + " '" + t.name()
                        + "' has shape " + Arrays.toString(t.shape) + " in the layout and " + Arrays.toString(shape)
                        + " in the model");
            }
        }
        if (parameters.size() != tensors.size()) {
            String missing = parameters.keySet().stream()
                    .filter(name -> tensors.stream().noneMatch(t -> t.name().equals(name)))
                    .findFirst().orElseThrow();
            throw new IllegalArgumentException("weight layout does not fit the model: the model's tensor '" + missing
                    + "' is not in the layout (" + tensors.size() + " tensors, the model has " + parameters.size() + ")");
        }
    }
}
