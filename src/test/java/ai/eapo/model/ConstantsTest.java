package ai.eapo.model;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** A constant's gradient survives garbage collection between the forward and the backward pass. */
class ConstantsTest {

    private static final int CHURN_BUFFERS = 20_000;

    @Test
    void gradientsThroughConstantsStayRightWhenTheCollectorRunsBeforeBackward() throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.create(new float[]{1f, 2f, 3f, 4f});
            x.setRequiresGradient(true);
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                NDArray y = Constants.multiply(Constants.divide(x, 4.0), 3.0).sum();
                churnNativeMemory();
                collector.backward(y);
            }
            assertArrayEquals(new float[]{0.75f, 0.75f, 0.75f, 0.75f}, x.getGradient().toFloatArray(), 1e-6f);
        }
    }

    /** Lets the collector free dropped direct buffers, then refills freed native memory with NaN bytes. */
    private static void churnNativeMemory() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(50);
        }
        List<ByteBuffer> keep = new ArrayList<>();
        for (int i = 0; i < CHURN_BUFFERS; i++) {
            ByteBuffer b = ByteBuffer.allocateDirect(4).order(ByteOrder.nativeOrder());
            b.putFloat(0, Float.NaN);
            keep.add(b);
        }
        keep.clear();
    }
}
