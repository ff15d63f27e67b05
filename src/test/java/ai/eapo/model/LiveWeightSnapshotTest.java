package ai.eapo.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A live weight version reads the learner's weights without a copy: it loads exactly those weights until they
 * change, then answers false; and a change of the weights waits for a load in progress.
 */
class LiveWeightSnapshotTest {

    private static final String ANY = "model.layers.0.mlp.up_proj.weight";

    @Test
    void loadsTheWeightsUntilTheyChangeThenAnswersFalse() {
        try (PolicyModel learner = Checkpoint.load(Path.of("models/tiny-base"), Device.cpu());
             PolicyModel replica = PolicyModel.random(learner.config(), Device.cpu(), 1, 0.1f)) {
            WeightSnapshot version = WeightSnapshot.live(learner, 1);
            assertTrue(version.loadInto(replica));
            assertArrayEquals(learner.parameters().get(ANY).toFloatArray(), replica.parameters().get(ANY).toFloatArray());
            float[] loaded = replica.parameters().get(ANY).toFloatArray();
            learner.updateWeights(() -> {
                try (NDArray w = learner.parameters().get(ANY).stopGradient()) {
                    w.addi(1f);
                }
            });
            assertFalse(version.loadInto(replica), "the learner's weights moved on");
            assertFalse(version.copyBytes(piece -> { }), "and so did the bytes");
            assertArrayEquals(loaded, replica.parameters().get(ANY).toFloatArray(), "nothing half-loaded");
            version.release();
        }
    }

    @Test
    void aChangeOfTheWeightsWaitsForALoadInProgress() throws Exception {
        try (PolicyModel learner = Checkpoint.load(Path.of("models/tiny-base"), Device.cpu())) {
            WeightSnapshot version = WeightSnapshot.live(learner, 1);
            CountDownLatch reading = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            AtomicBoolean changedDuringRead = new AtomicBoolean();
            Thread reader = new Thread(() -> version.copyBytes(piece -> {
                reading.countDown();
                try {
                    release.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }));
            reader.start();
            assertTrue(reading.await(10, TimeUnit.SECONDS));
            long before = learner.revision();
            Thread writer = new Thread(() -> learner.updateWeights(() -> changedDuringRead.set(release.getCount() > 0)));
            writer.start();
            writer.join(300);
            assertTrue(writer.isAlive(), "the update waits while the version is read");
            release.countDown();
            writer.join(10_000);
            reader.join(10_000);
            assertFalse(changedDuringRead.get());
            assertTrue(learner.revision() > before);
            version.release();
        }
    }
}
