package ai.eapo.node;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The determinism invariant at CI size: a loopback cluster of the built jar loses each of its four roles once, at
 * seeded random moments, and its run still ends with the fault-free run's weights, byte for byte, and its
 * rewards at every step ({@code eapo-node chaos}; the long form is {@code scripts/chaos.sh}).
 */
class ChaosIT {

    @TempDir
    Path work;

    @Test
    void aRunWhoseEveryRoleIsKilledOnceEndsBitIdenticalToTheFaultFreeRun() throws Exception {
        assertTrue(Files.isRegularFile(Path.of("target/eapo-node.jar")), "the jar is built before the integration tests");
        EapoNodeTest.Run chaos = EapoNodeTest.run("chaos", "--kills", "4", "--steps", "10", "--seed", "3",
                "--minutes", "8", "--out", work.toString());
        assertTrue(Files.isRegularFile(work.resolve("chaos.json")), "no report; exit " + chaos.exit() + ": " + chaos.err());
        JsonNode report = new ObjectMapper().readTree(work.resolve("chaos.json").toFile());
        for (String role : ChaosCommand.ROLES) {
            assertEquals(1, report.at("/kills/" + role + "/kills").asInt(), role + " killed once: " + report);
        }
        String table = Files.readString(work.resolve("chaos.md"));
        assertTrue(report.get("weights_equal").asBoolean(), table);
        assertTrue(report.get("rewards_equal").asBoolean(), table);
        assertTrue(report.get("steps_rerun").asLong() >= 0 && report.get("questions_reissued").asLong() >= 0, table);
        assertEquals(0, chaos.exit(), table + chaos.err());
    }
}
