package ai.eapo.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The shipped tiny Qwen2 bf16 checkpoint against logits computed by an independent reference. */
class GoldenLogitsTest {

    static final Path FIXTURE = TestPaths.shared().resolve("fixtures/tiny-qwen2-bf16");
    static final double TOLERANCE = 1e-3;

    @Test
    void everyPositionOfEveryGoldenSequenceMatches() throws Exception {
        try (PolicyModel model = Checkpoint.load(FIXTURE, Device.cpu());
             SafeTensors.File golden = SafeTensors.open(FIXTURE.resolve("golden.safetensors"));
             NDManager m = NDManager.newBaseManager()) {
            for (int j = 0; j < 3; j++) {
                float[] idsF = golden.load("input_ids_" + j, m).toFloatArray();
                long[] ids = new long[idsF.length];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = (long) idsF[i];
                }
                NDArray expected = golden.load("logits_" + j, m);
                NDArray actual = model.logits(m.create(ids, new Shape(1, ids.length))).squeeze(0);
                assertArrayEquals(expected.getShape().getShape(), actual.getShape().getShape());
                double maxDiff = actual.sub(expected).abs().max().getFloat();
                assertTrue(maxDiff < TOLERANCE, "sequence " + j + ": max |diff| = " + maxDiff);
            }
        }
    }
}
