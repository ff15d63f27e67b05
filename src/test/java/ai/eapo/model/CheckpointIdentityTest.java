package ai.eapo.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** A LoRA base's identity tells checkpoints of one architecture apart, and a copy from the original not. */
class CheckpointIdentityTest {

    @Test
    void aCopyIsTheSameBaseAndAnotherCheckpointOfTheSameShapeIsNot(@TempDir Path dir) throws IOException {
        ModelConfig config = ModelConfig.qwen2(40, 32, 64, 2, 4, 2, true, List.of(0));
        try (PolicyModel a = PolicyModel.random(config, Device.cpu(), 1, 0.3f);
             PolicyModel b = PolicyModel.random(config, Device.cpu(), 2, 0.3f)) {
            Checkpoint.save(a, dir.resolve("a"), null, Long.MAX_VALUE);
            Checkpoint.save(a, dir.resolve("a-copy"), null, Long.MAX_VALUE);
            Checkpoint.save(b, dir.resolve("b"), null, Long.MAX_VALUE);
        }
        CheckpointIdentity a = CheckpointIdentity.of(dir.resolve("a"));
        CheckpointIdentity copy = CheckpointIdentity.of(dir.resolve("a-copy"));
        CheckpointIdentity b = CheckpointIdentity.of(dir.resolve("b"));
        assertEquals(a.fingerprint(), copy.fingerprint());
        assertNotEquals(a.fingerprint(), b.fingerprint(), "same shapes, other weights");
        assertNull(CheckpointIdentity.mismatch(a, copy, "sampler x"));
        assertNull(CheckpointIdentity.mismatch(null, null, "sampler x"), "whole weights on both sides");
        String refused = CheckpointIdentity.mismatch(a, b, "sampler x");
        assertTrue(refused.contains(b.directory()) && refused.contains(a.directory()) && refused.contains(b.fingerprint()),
                refused);
    }
}
