package ai.eapo.model;

import ai.djl.ndarray.NDArray;

/**
 * Arithmetic with a constant that stays correct under autograd. DJL's {@code x.div(Number)} and
 * {@code x.mul(Number)} build the constant from a Java direct buffer ({@code torch::from_blob}) and close it
 * at once; autograd keeps that tensor for the backward pass, and when the garbage collector frees the buffer
 * the backward pass reads freed memory. The symptom was NaN gradients with a finite loss whenever other
 * threads allocated between a forward and its backward (the actor pipeline: 5 to 7 steps in 8). Here the
 * constant is copied into native memory of the operand's dtype, which autograd keeps alive by reference count.
 */
public final class Constants {

    private Constants() {
    }

    /** {@code x / c}. */
    public static NDArray divide(NDArray x, double c) {
        try (NDArray constant = nativeConstant(x, c)) {
            return x.div(constant);
        }
    }

    /** {@code x · c}. */
    public static NDArray multiply(NDArray x, double c) {
        try (NDArray constant = nativeConstant(x, c)) {
            return x.mul(constant);
        }
    }

    /** {@code c} as a 0-d tensor of x's dtype whose memory belongs to the native side (a copy, not a view). */
    private static NDArray nativeConstant(NDArray x, double c) {
        try (NDArray javaBacked = x.getManager().create(c)) {
            return javaBacked.toType(x.getDataType(), true);
        }
    }
}
