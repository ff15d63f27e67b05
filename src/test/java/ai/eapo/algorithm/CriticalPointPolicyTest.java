package ai.eapo.algorithm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.eapo.model.SoftmaxEntropy;
import org.junit.jupiter.api.Test;

class CriticalPointPolicyTest {

    @Test
    void criticalOnlyStrictlyAboveThreshold() {
        CriticalPointPolicy policy = new CriticalPointPolicy(1.0);
        assertTrue(policy.isCritical(1.0001));
        assertFalse(policy.isCritical(1.0));
        assertFalse(policy.isCritical(0.5));
    }

    @Test
    void infiniteThresholdNeverConsultsAndZeroConsultsWhereverThereIsChoice() {
        assertFalse(new CriticalPointPolicy(Double.POSITIVE_INFINITY).isCritical(Math.log(1e6)));
        CriticalPointPolicy always = new CriticalPointPolicy(0.0);
        assertTrue(always.isCritical(SoftmaxEntropy.of(new float[] {0f, -20f}, 1.0)));
        assertFalse(always.isCritical(SoftmaxEntropy.of(new float[] {0f, Float.NEGATIVE_INFINITY}, 1.0)));
    }

    @Test
    void trajectoryGranularityMakesEveryPositionCriticalWhateverTau() {
        CriticalPointPolicy trajectory = new CriticalPointPolicy(Double.POSITIVE_INFINITY, ExperienceGranularity.TRAJECTORY);
        assertTrue(trajectory.isCritical(0.0));
        assertTrue(trajectory.withThreshold(5.0).isCritical(0.1));
        assertEquals(ExperienceGranularity.TRAJECTORY, trajectory.withThreshold(5.0).granularity());
        assertFalse(new CriticalPointPolicy(5.0, ExperienceGranularity.TOKEN).isCritical(0.1));
    }

    @Test
    void negativeOrNanThresholdIsRefusedWithItsKey() {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> new CriticalPointPolicy(-0.1).validate());
        assertTrue(error.getMessage().contains(CriticalPointPolicy.KEY_ENTROPY_THRESHOLD + " = -0.1"),
                error.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new CriticalPointPolicy(Double.NaN).validate());
    }
}
