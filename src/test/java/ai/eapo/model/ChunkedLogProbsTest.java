package ai.eapo.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The learner's log-probs computed a few positions at a time (the vocabulary-wide part in chunks) equal the
 * all-at-once computation, values and gradients, whatever the chunk.
 */
class ChunkedLogProbsTest {

    private static final int ROWS = 3;
    private static final int LENGTH = 11;
    private static final double TOLERANCE = 1e-5;

    @Test
    void chunksOfAnySizeGiveTheSameLogProbsAndGradients() {
        ModelConfig config = ModelConfig.qwen2(50, 32, 48, 2, 4, 2, false, List.of(0));
        try (PolicyModel model = PolicyModel.random(config, Device.cpu(), 7, 0.2f)) {
            model.parameters().values().forEach(p -> p.setRequiresGradient(true));
            Result whole = run(model, Integer.MAX_VALUE);
            for (int chunk : new int[]{1, 3, 4, LENGTH}) {
                Result chunked = run(model, chunk);
                assertClose(whole.logProbs, chunked.logProbs, "log-probs, chunk " + chunk);
                for (String name : whole.gradients.keySet()) {
                    assertClose(whole.gradients.get(name), chunked.gradients.get(name), name + " gradient, chunk " + chunk);
                }
            }
            assertTrue(maxAbs(whole.gradients.get("model.layers.0.mlp.up_proj.weight")) > 1e-4,
                    "the loss reaches the first layer");
        }
    }

    private record Result(float[] logProbs, Map<String, float[]> gradients) {
    }

    /** Log-probs of fixed random targets at temperature 0.7 and the gradients of a fixed weighted sum of them. */
    private static Result run(PolicyModel model, int chunk) {
        Random random = new Random(3);
        long[] ids = new long[ROWS * LENGTH];
        long[] targets = new long[ROWS * LENGTH];
        float[] weights = new float[ROWS * LENGTH];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = random.nextInt(50);
            targets[i] = random.nextInt(50);
            weights[i] = (float) random.nextGaussian();
        }
        Map<String, float[]> gradients = new LinkedHashMap<>();
        float[] logProbs;
        try (NDManager m = NDManager.newBaseManager(Device.cpu());
             GradientCollector collector = Engine.getInstance().newGradientCollector()) {
            Shape shape = new Shape(ROWS, LENGTH);
            NDArray lp = model.tokenLogProbs(m.create(ids, shape), m.create(targets, shape), 0.7f, chunk);
            collector.backward(lp.mul(m.create(weights, shape)).sum());
            logProbs = lp.stopGradient().toFloatArray();
        }
        model.parameters().forEach((name, p) -> {
            gradients.put(name, p.getGradient().toFloatArray());
            p.getGradient().subi(p.getGradient());
        });
        return new Result(logProbs, gradients);
    }

    private static void assertClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], TOLERANCE, what + " at " + i);
        }
    }

    private static double maxAbs(float[] values) {
        double max = 0;
        for (float v : values) {
            max = Math.max(max, Math.abs(v));
        }
        return max;
    }
}
