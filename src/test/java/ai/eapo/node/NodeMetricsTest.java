package ai.eapo.node;

import ai.eapo.UserInputException;
import ai.eapo.actors.PipelineActivity;

import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NodeMetricsTest {

    @Test
    void aPortOutOfRangeIsRefusedByName() {
        UserInputException e = assertThrows(UserInputException.class, () -> NodeMetrics.start(
                ConfigFactory.parseString("eapo.node.metrics.port = 70000").withFallback(ConfigFactory.load()),
                new PipelineActivity()));
        assertTrue(e.getMessage().contains("eapo.node.metrics.port = 70000"), e.getMessage());
    }

    @Test
    void theTextFormatIsReadWithLabelsEscapesAndSpecialValues() {
        PrometheusText page = PrometheusText.parse("""
                # HELP eapo_actor_busy_share Share of the wall time
                # TYPE eapo_actor_busy_share gauge
                eapo_actor_busy_share{kind="sampler"} 0.85
                eapo_actor_busy_share{kind="prior",note="a \\"quoted\\" one"} 0.11
                jvm_memory_used_bytes{area="heap",id="G1 Eden Space"} 2.0E7
                jvm_memory_used_bytes{area="heap",id="G1 Old Gen"} 3.0E7
                eapo_learner_step NaN
                eapo_weight_transfer_bytes_total +Inf 1700000000000
                """);
        assertEquals(0.85, page.value("eapo_actor_busy_share", Map.of("kind", "sampler")));
        assertEquals(0.11, page.value("eapo_actor_busy_share", Map.of("note", "a \"quoted\" one")));
        assertEquals(5.0e7, page.sum("jvm_memory_used_bytes", Map.of("area", "heap")));
        assertTrue(Double.isNaN(page.value("eapo_learner_step", Map.of())));
        assertEquals(Double.POSITIVE_INFINITY, page.value("eapo_weight_transfer_bytes_total", Map.of()));
        assertTrue(Double.isNaN(page.value("absent", Map.of())));
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
                () -> PrometheusText.parse("eapo_learner_step fourteen\n"));
        assertTrue(bad.getMessage().contains("line 1"), bad.getMessage());
        assertThrows(IllegalArgumentException.class, () -> PrometheusText.parse("x{kind=sampler} 1\n"));
    }
}
