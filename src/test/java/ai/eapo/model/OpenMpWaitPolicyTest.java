package ai.eapo.model;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OpenMpWaitPolicyTest {

    @Test
    void autoSleepsOnlyWhereSeveralRolesShareTheProcess() {
        assertNull(OpenMpWaitPolicy.Setting.AUTO.policyFor(1));
        assertEquals("PASSIVE", OpenMpWaitPolicy.Setting.AUTO.policyFor(2));
        assertEquals("PASSIVE", OpenMpWaitPolicy.Setting.AUTO.policyFor(3));
        assertEquals("ACTIVE", OpenMpWaitPolicy.Setting.ACTIVE.policyFor(3));
        assertEquals("PASSIVE", OpenMpWaitPolicy.Setting.PASSIVE.policyFor(1));
    }

    @Test
    void settingsAreReadWhateverTheirCaseAndABadOneIsNamed() {
        assertEquals(OpenMpWaitPolicy.Setting.PASSIVE, OpenMpWaitPolicy.Setting.parse(" Passive", "k"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> OpenMpWaitPolicy.Setting.parse("sleepy", "eapo.node.openmp-wait-policy"));
        assertTrue(e.getMessage().contains("eapo.node.openmp-wait-policy") && e.getMessage().contains("sleepy"), e.getMessage());
    }

    @Test
    void onceTheEngineHasLoadedOpenMpItIsTooLateToSet() {
        try (NDManager m = NDManager.newBaseManager()) {
            m.ones(new ai.djl.ndarray.types.Shape(2)).sum(); // loads libtorch and its OpenMP runtime
        }
        assertTrue(OpenMpWaitPolicy.openMpLoaded());
        if (System.getenv(OpenMpWaitPolicy.VARIABLE) == null) {
            // A training run earlier in this JVM may have applied one of the two before the engine loaded (then
            // applying it again is nothing to do); the other one is a change, and too late.
            java.util.Set<OpenMpWaitPolicy.Outcome> outcomes = java.util.EnumSet.of(OpenMpWaitPolicy.apply("PASSIVE"),
                    OpenMpWaitPolicy.apply("ACTIVE"));
            assertTrue(outcomes.contains(OpenMpWaitPolicy.Outcome.TOO_LATE)
                    && !outcomes.contains(OpenMpWaitPolicy.Outcome.SET), outcomes.toString());
        } else {
            assertEquals(OpenMpWaitPolicy.Outcome.KEPT_FROM_ENVIRONMENT, OpenMpWaitPolicy.apply("PASSIVE"));
        }
        assertEquals(OpenMpWaitPolicy.Outcome.NOTHING_TO_DO, OpenMpWaitPolicy.apply(null));
    }
}
