package ai.eapo.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;

class SoftmaxEntropyTest {

    private static final double TOLERANCE = 1e-6;

    @Test
    void entropyOfUniformAndPointMass() {
        assertEquals(Math.log(4), SoftmaxEntropy.of(new float[] {3f, 3f, 3f, 3f}, 1.0), TOLERANCE);
        assertEquals(0.0, SoftmaxEntropy.of(new float[] {5f}, 0.7), TOLERANCE);
        // Masked logits are excluded: two live tokens of equal logit.
        assertEquals(Math.log(2),
                SoftmaxEntropy.of(new float[] {1f, Float.NEGATIVE_INFINITY, 1f}, 1.0), TOLERANCE);
    }

    @Test
    void entropyOfTwoTokensAfterTemperature() {
        // logits (0, ln 3) at temperature 1: p = (1/4, 3/4); at temperature 2 the ratio is √3.
        float[] logits = {0f, (float) Math.log(3)};
        assertEquals(binaryEntropy(0.25), SoftmaxEntropy.of(logits, 1.0), TOLERANCE);
        double sqrt3 = Math.sqrt(3);
        assertEquals(binaryEntropy(1 / (1 + sqrt3)), SoftmaxEntropy.of(logits, 2.0), TOLERANCE);
        assertThrows(IllegalArgumentException.class, () -> SoftmaxEntropy.of(logits, 0.0));
    }

    @Test
    void rowsAgreeWithTheScalarHelper() {
        float[][] rows = {{0.3f, -1.2f, 2.0f, 0.0f}, {1f, 1f, 1f, 1f}, {4f, Float.NEGATIVE_INFINITY, 0f, -2f}};
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray entropy = SoftmaxEntropy.ofRows(manager.create(rows), 0.8);
            assertEquals(1, entropy.getShape().dimension());
            float[] values = entropy.toFloatArray();
            for (int r = 0; r < rows.length; r++) {
                assertEquals(SoftmaxEntropy.of(rows[r], 0.8), values[r], TOLERANCE);
            }
        }
    }

    private static double binaryEntropy(double p) {
        return -(p * Math.log(p) + (1 - p) * Math.log(1 - p));
    }
}
