package ai.eapo.training;

import ai.djl.Device;
import ai.djl.ndarray.BaseNDManager;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.eapo.algorithm.OptimizerOptions;
import ai.eapo.model.ModelConfig;
import ai.eapo.model.PolicyModel;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AdamWTest {

    static final OptimizerOptions OPTIONS = new OptimizerOptions(1e-2, 0.9, 0.999, 0.01, 1e-8, 1.0, 1, 1);
    static final int SEQUENCES = 4;
    static final int LENGTH = 12;

    static PolicyModel tinyModel() {
        return PolicyModel.random(ModelConfig.qwen2(32, 32, 64, 2, 4, 2, true, List.of(0)), Device.cpu(), 7, 0.05f);
    }

    static long[][] data() {
        Random r = new Random(11);
        long[][] seqs = new long[SEQUENCES][LENGTH + 1];
        for (long[] s : seqs) {
            for (int i = 0; i < s.length; i++) {
                s[i] = 1 + r.nextInt(31);
            }
        }
        return seqs;
    }

    /** SFT micro-batches over rows [from, to) of the data, scaled by the whole batch's token count. */
    static Function<NDManager, AdamW.Loss> microBatch(PolicyModel model, long[][] seqs, int from, int to) {
        return m -> {
            int rows = to - from;
            long[] ids = new long[rows * LENGTH];
            long[] targets = new long[rows * LENGTH];
            for (int r = 0; r < rows; r++) {
                System.arraycopy(seqs[from + r], 0, ids, r * LENGTH, LENGTH);
                System.arraycopy(seqs[from + r], 1, targets, r * LENGTH, LENGTH);
            }
            NDArray mask = m.ones(new Shape(rows, LENGTH));
            return AdamW.Loss.of(SupervisedLoss.of(model, m.create(ids, new Shape(rows, LENGTH)),
                    m.create(targets, new Shape(rows, LENGTH)), mask, SEQUENCES * LENGTH));
        };
    }

    @Test
    void supervisedStepsLearnTheSequences() {
        long[][] seqs = data();
        try (PolicyModel model = tinyModel(); AdamW adam = new AdamW(model, OPTIONS)) {
            double first = 0;
            double last = 0;
            for (int step = 0; step < 80; step++) {
                AdamW.StepReport report = adam.step(List.of(microBatch(model, seqs, 0, 2), microBatch(model, seqs, 2, 4)));
                assertFalse(report.skipped());
                if (step == 0) {
                    first = report.loss();
                }
                last = report.loss();
            }
            assertTrue(first > Math.log(32) * 0.8, "starts near uniform: " + first);
            assertTrue(last < 0.3 * first, "loss " + first + " -> " + last);
        }
    }

    @Test
    void microBatchesAccumulateToTheWholeBatchGradient() {
        long[][] seqs = data();
        try (PolicyModel a = tinyModel(); PolicyModel b = tinyModel();
             AdamW adamA = new AdamW(a, OPTIONS); AdamW adamB = new AdamW(b, OPTIONS)) {
            for (int step = 0; step < 3; step++) {
                AdamW.StepReport whole = adamA.step(List.of(microBatch(a, seqs, 0, 4)));
                AdamW.StepReport split = adamB.step(List.of(microBatch(b, seqs, 0, 1), microBatch(b, seqs, 1, 3), microBatch(b, seqs, 3, 4)));
                assertEquals(whole.loss(), split.loss(), 1e-5);
                assertEquals(whole.gradNorm(), split.gradNorm(), 1e-4 * whole.gradNorm());
            }
            for (Map.Entry<String, NDArray> e : a.parameters().entrySet()) {
                float diff = e.getValue().sub(b.parameters().get(e.getKey())).abs().max().getFloat();
                assertTrue(diff < 1e-5, e.getKey() + " differs by " + diff);
            }
        }
    }

    @Test
    void updatingAFewRowsAtATimeEqualsUpdatingWholeWeights() {
        long[][] seqs = data();
        try (PolicyModel a = tinyModel(); PolicyModel b = tinyModel();
             AdamW whole = new AdamW(a, OPTIONS); AdamW sliced = new AdamW(b, OPTIONS, 40)) {
            float[] initial = a.parameters().get("model.embed_tokens.weight").toFloatArray();
            for (int step = 0; step < 3; step++) {
                whole.step(List.of(microBatch(a, seqs, 0, 4)));
                sliced.step(List.of(microBatch(b, seqs, 0, 4)));
            }
            for (Map.Entry<String, NDArray> e : a.parameters().entrySet()) {
                assertArrayEquals(e.getValue().toFloatArray(), b.parameters().get(e.getKey()).toFloatArray(), 1e-7f,
                        e.getKey());
                assertArrayEquals(whole.secondMoments().get(e.getKey()).toFloatArray(),
                        sliced.secondMoments().get(e.getKey()).toFloatArray(), 1e-9f, e.getKey() + " second moment");
            }
            float[] trained = a.parameters().get("model.embed_tokens.weight").toFloatArray();
            assertTrue(!java.util.Arrays.equals(initial, trained), "the weights moved");
        }
    }

    @Test
    void aNonFiniteLossSkipsTheStepAndLeavesWeightsUntouched() {
        long[][] seqs = data();
        try (PolicyModel model = tinyModel(); AdamW adam = new AdamW(model, OPTIONS)) {
            List<float[]> before = new ArrayList<>();
            model.parameters().values().forEach(p -> before.add(p.toFloatArray()));
            Function<NDManager, AdamW.Loss> poisoned = m -> AdamW.Loss.of(microBatch(model, seqs, 0, 4).apply(m).value()
                    .mul(Float.NaN));
            AdamW.StepReport report = adam.step(List.of(poisoned));
            assertTrue(report.skipped());
            int i = 0;
            for (NDArray p : model.parameters().values()) {
                assertTrue(java.util.Arrays.equals(before.get(i++), p.toFloatArray()), "weights changed on a skipped step");
            }
            assertEquals(0, adam.steps());
            AdamW.StepReport next = adam.step(List.of(microBatch(model, seqs, 0, 4)));
            assertFalse(next.skipped(), "the step after a skipped one runs normally");
            assertTrue(Double.isFinite(next.gradNorm()));
        }
    }

    @Test
    void manyStepsLeaveNoArraysBehind() {
        long[][] seqs = data();
        try (PolicyModel model = tinyModel(); AdamW adam = new AdamW(model, OPTIONS)) {
            BaseNDManager owner = (BaseNDManager) model.parameters().values().iterator().next().getManager();
            adam.step(List.of(microBatch(model, seqs, 0, 4)));
            int before = owner.getManagedArrays().size();
            for (int step = 0; step < 50; step++) {
                adam.step(List.of(microBatch(model, seqs, 0, 2), microBatch(model, seqs, 2, 4)));
            }
            assertEquals(before, owner.getManagedArrays().size(), "arrays alive after 50 optimizer steps");
        }
    }
}
