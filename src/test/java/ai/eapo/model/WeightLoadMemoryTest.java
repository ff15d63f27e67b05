package ai.eapo.model;

import ai.djl.Device;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Loading a version into a replica (every sampler, every learner step) holds resident memory flat. With
 * DJL's NDArray.copyTo each load left a model-sized direct buffer for the garbage collector: +700 MB over 100
 * loads of the tiny model.
 */
class WeightLoadMemoryTest {

    static final int LOADS = 100;
    /** Allowed growth: far below one model-sized leak per load (11 MB x 100), far above measurement noise. */
    static final long MAX_GROWTH_MB = 150;

    static long residentMegabytes() {
        return NativeMemory.residentBytes().orElseThrow() / (1024 * 1024);
    }

    @Test
    void loadingWeightsRepeatedlyHoldsResidentMemoryFlat() {
        try (PolicyModel learner = Checkpoint.load(Path.of("models/tiny-base"), Device.cpu());
             PolicyModel replica = learner.replica()) {
            replica.loadWeights(learner.parameters()); // warm up allocators
            long before = residentMegabytes();
            for (int i = 0; i < LOADS; i++) {
                replica.loadWeights(learner.parameters());
            }
            long growth = residentMegabytes() - before;
            assertTrue(growth < MAX_GROWTH_MB, "resident memory grew " + growth + " MB over " + LOADS + " loads");
        }
    }
}
