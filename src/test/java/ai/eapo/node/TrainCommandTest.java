package ai.eapo.node;

import ai.eapo.report.TensorBoardEventReader;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code train} as a user runs it, and {@code ctl} reaching the running node over Pekko remoting. */
class TrainCommandTest {

    static final List<String> REQUIRED_KEYS = List.of("step", "weight_version", "reward_mean", "accuracy", "ea_accuracy",
            "resampled_ratio", "alpha", "tau", "annealing_steps", "entropy_mean", "kept_mass_mean", "kl", "clip_fraction", "is_weight_mean",
            "tokens_per_s", "staleness_mean", "mismatch_kl", "mismatch_max_ratio", "mixed_cache_share", "skipped",
            "groups", "uniform_groups", "ea_groups", "ea_uniform_groups");

    @Test
    void aRunWritesItsResultsAndCtlChangesAKnobWhileItRuns(@TempDir Path dir) throws Exception {
        int port = freePort();
        int metricsPort = freePort();
        Path metrics = dir.resolve("t/metrics.jsonl");
        CompletableFuture<EapoNodeTest.Run> training = CompletableFuture.supplyAsync(() -> EapoNodeTest.run("train",
                "--steps", "14", "--questions-per-step", "2", "--eval-size", "20", "--eval-every", "7", "--tau", "0.3",
                "--port", Integer.toString(port), "--metrics-port", Integer.toString(metricsPort),
                "--results-dir", dir.toString(), "--run-id", "t"));
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        while (!(Files.exists(metrics) && Files.readAllLines(metrics).size() >= 2)) {
            assertTrue(System.nanoTime() < deadline && !training.isDone(), "the run should be writing metrics");
            Thread.sleep(200);
        }
        assertPrometheusMetricsFollowTheRun(metricsPort);
        String node = "127.0.0.1:" + port;
        EapoNodeTest.Run refused = EapoNodeTest.run("ctl", "set", "tau=-1", "--node", node);
        assertEquals(EapoNode.EXIT_BAD_INPUT, refused.exit(), refused.err());
        EapoNodeTest.Run accepted = EapoNodeTest.run("ctl", "set", "tau=inf", "--node", node);
        assertEquals(0, accepted.exit(), accepted.err());
        EapoNodeTest.Run finished = training.get(5, TimeUnit.MINUTES);
        assertEquals(0, finished.exit(), finished.err());

        ObjectMapper json = new ObjectMapper();
        List<String> lines = Files.readAllLines(metrics);
        assertEquals(14, lines.size());
        int changedAt = -1;
        for (int i = 0; i < lines.size(); i++) {
            JsonNode line = json.readTree(lines.get(i));
            for (String key : REQUIRED_KEYS) {
                assertTrue(line.has(key), "line " + i + " lacks " + key);
            }
            if (line.has("knobs_changed")) {
                changedAt = i;
                assertEquals("inf", line.get("knobs_changed").get("tau").asText());
            }
            if (changedAt >= 0) {
                assertTrue(line.get("tau").isNull(), "tau = inf is written as null from the change on, line " + i);
            } else {
                assertEquals(0.3, line.get("tau").asDouble(), 1e-12);
            }
        }
        assertTrue(changedAt >= 1, "the change shows on the step it took effect");
        assertTensorBoardHoldsTheMetrics(dir.resolve("t"), lines);
        assertTrue(json.readTree(lines.get(6)).has("heldout_accuracy"), "evaluated every 7 steps");
        JsonNode summary = json.readTree(dir.resolve("t/summary.json").toFile());
        assertTrue(summary.get("heldout_accuracy_before").isNumber() && summary.get("heldout_accuracy_after").isNumber());
        for (String file : List.of("config.conf", "reward_accuracy.png", "resampled_ratio.png", "entropy.png",
                "checkpoint/config.json", "checkpoint/model.safetensors", "checkpoint/tokenizer.json")) {
            assertTrue(Files.isRegularFile(dir.resolve("t").resolve(file)), file);
        }
    }

    private static int freePort() throws java.io.IOException {
        try (ServerSocket free = new ServerSocket(0)) {
            return free.getLocalPort();
        }
    }

    /** What scripts/reproduce-results.sh relies on: a finished run given a larger --steps carries on from its end. */
    @Test
    void aFinishedRunContinuesToALargerBudget(@TempDir Path dir) throws Exception {
        ObjectMapper json = new ObjectMapper();
        Path run = dir.resolve("c");
        EapoNodeTest.Run shorter = EapoNodeTest.run("train", "--steps", "3", "--questions-per-step", "2",
                "--eval-size", "10", "--port", "0", "--results-dir", dir.toString(), "--run-id", "c");
        assertEquals(0, shorter.exit(), shorter.err());
        JsonNode first = json.readTree(run.resolve("summary.json").toFile());

        EapoNodeTest.Run longer = EapoNodeTest.run("train", "--steps", "4", "--questions-per-step", "2",
                "--eval-size", "10", "--port", "0", "--results-dir", dir.toString(), "--run-id", "c");
        assertEquals(0, longer.exit(), longer.err());
        JsonNode summary = json.readTree(run.resolve("summary.json").toFile());
        assertEquals(4, summary.get("steps").asInt());
        assertEquals(3, summary.get("resumed_at_step").asInt());
        assertEquals(first.get("heldout_accuracy_before").asDouble(), summary.get("heldout_accuracy_before").asDouble(),
                "the accuracy before training is the first invocation's, not measured again");
        assertTrue(summary.get("heldout_accuracy_after").isNumber());
        // One more step's time on top of the three before: the whole run's training time, not the last invocation's.
        assertTrue(summary.get("train_seconds").asDouble() > first.get("train_seconds").asDouble(),
                summary + " after " + first);
        List<String> lines = Files.readAllLines(run.resolve("metrics.jsonl"));
        assertEquals(4, lines.size());
        for (int step = 0; step < lines.size(); step++) {
            assertEquals(step, json.readTree(lines.get(step)).get("step").asInt());
        }
    }

    /** /metrics over HTTP parses, the learner step series increases, and ctl watch prints the same numbers. */
    private static void assertPrometheusMetricsFollowTheRun(int metricsPort) throws Exception {
        java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
        java.net.URI uri = java.net.URI.create("http://127.0.0.1:" + metricsPort + "/metrics");
        java.net.http.HttpResponse<String> first = http.send(java.net.http.HttpRequest.newBuilder(uri).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        assertEquals(200, first.statusCode());
        assertTrue(first.headers().firstValue("Content-Type").orElse("").startsWith("text/plain; version=0.0.4"));
        PrometheusText before = PrometheusText.parse(first.body());
        double stepBefore = before.value("eapo_learner_step", java.util.Map.of());
        assertTrue(stepBefore >= 2, "learner step " + stepBefore);
        assertEquals(1.0, before.value("eapo_cluster_members", java.util.Map.of("role", "learner")));
        assertTrue(before.value("eapo_resident_memory_bytes", java.util.Map.of()) > 1e8);
        assertTrue(before.sum("jvm_memory_used_bytes", java.util.Map.of("area", "heap")) > 0);
        assertTrue(before.value("eapo_actor_busy_share", java.util.Map.of("kind", "sampler")) > 0);
        for (String queue : List.of("eapo_questions_waiting", "eapo_questions_outstanding",
                "eapo_responses_awaiting_rewards", "eapo_prior_consultations_in_flight",
                "eapo_weight_transfer_bytes_total", "eapo_weight_transfer_failures_total")) {
            assertTrue(before.value(queue, java.util.Map.of()) >= 0, queue);
        }
        PrometheusText after = before;
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (after.value("eapo_learner_step", java.util.Map.of()) <= stepBefore) {
            assertTrue(System.nanoTime() < deadline, "the learner step series should increase");
            Thread.sleep(300);
            after = PrometheusText.parse(http.send(java.net.http.HttpRequest.newBuilder(uri).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString()).body());
        }
        java.io.ByteArrayOutputStream printed = new java.io.ByteArrayOutputStream();
        PrintStream stdout = System.out;
        System.setOut(new PrintStream(printed, true));
        try {
            assertEquals(0, EapoNodeTest.run("ctl", "watch", "--metrics", "127.0.0.1:" + metricsPort, "--count", "2",
                    "--every", "0.2").exit());
        } finally {
            System.setOut(stdout);
        }
        List<String> table = printed.toString().lines().toList();
        assertEquals(3, table.size(), printed.toString());
        assertTrue(table.get(0).strip().startsWith("step") && table.get(0).contains("rss MB"), table.get(0));
        assertTrue(Double.parseDouble(table.get(2).strip().split("\\s+")[0]) > stepBefore, table.get(2));
    }

    /** Every number of every metrics.jsonl line is a scalar of the line's step, under one of the sections. */
    static void assertTensorBoardHoldsTheMetrics(Path runDir, List<String> lines) throws Exception {
        ObjectMapper json = new ObjectMapper();
        List<TensorBoardEventReader.Event> steps = TensorBoardEventReader.readDirectory(runDir.resolve("tb")).stream()
                .filter(e -> !e.scalars().isEmpty()).toList();
        assertEquals(lines.size(), steps.size(), "one event per metrics line");
        for (int i = 0; i < lines.size(); i++) {
            JsonNode line = json.readTree(lines.get(i));
            TensorBoardEventReader.Event event = steps.get(i);
            assertEquals(line.get("step").asLong(), event.step());
            int numbers = 0;
            for (var field : (Iterable<java.util.Map.Entry<String, JsonNode>>) line::fields) {
                if (field.getValue().isNumber() && !field.getKey().equals("step")) {
                    numbers++;
                    String key = field.getKey();
                    List<String> tags = event.scalars().keySet().stream()
                            .filter(t -> t.matches("(train|eapo|perf|eval)/" + key)).toList();
                    assertEquals(1, tags.size(), "line " + i + ": " + key + " in " + event.scalars().keySet());
                    assertEquals(field.getValue().floatValue(), event.scalars().get(tags.get(0)), key);
                }
            }
            assertTrue(numbers > 20 && event.scalars().size() >= numbers, "line " + i);
        }
    }

    @Test
    void badSettingsAreRefusedBeforeAnyWork(@TempDir Path dir) throws Exception {
        EapoNodeTest.Run steps = EapoNodeTest.run("train", "--steps", "0", "--results-dir", dir.toString());
        assertEquals(EapoNode.EXIT_BAD_INPUT, steps.exit());
        assertTrue(steps.err().contains("eapo.train.steps = 0"), steps.err());
        EapoNodeTest.Run config = EapoNodeTest.run("train", "--config", dir.resolve("missing.conf").toString());
        assertEquals(EapoNode.EXIT_BAD_INPUT, config.exit());
        assertTrue(config.err().contains("missing.conf"), config.err());
        EapoNodeTest.Run tau = EapoNodeTest.run("train", "--tau", "-2", "--results-dir", dir.toString());
        assertEquals(EapoNode.EXIT_BAD_INPUT, tau.exit());
        assertTrue(tau.err().contains("entropy-threshold"), tau.err());
        try (ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            EapoNodeTest.Run port = EapoNodeTest.run("train", "--steps", "1", "--eval-size", "0",
                    "--port", Integer.toString(taken.getLocalPort()), "--results-dir", dir.toString());
            assertEquals(EapoNode.EXIT_BAD_INPUT, port.exit(), port.err());
            assertTrue(port.err().contains("--port"), port.err());
        }
        EapoNodeTest.Run overlong = EapoNodeTest.run("train", "--set", "eapo.algorithm.dapo.overlong.enabled=true",
                "--set", "eapo.algorithm.dapo.overlong.cache-length=80", "--results-dir", dir.toString());
        assertEquals(EapoNode.EXIT_BAD_INPUT, overlong.exit());
        assertTrue(overlong.err().contains("cache-length = 80 must be < the max length = 80"), overlong.err());
        EapoNodeTest.Run misspelt = EapoNodeTest.run("train", "--set", "eapo.algorithm.exgrpo.enable=true");
        assertEquals(EapoNode.EXIT_BAD_INPUT, misspelt.exit());
        assertTrue(misspelt.err().contains("no such key eapo.algorithm.exgrpo.enable"), misspelt.err());
        EapoNodeTest.Run ctl = EapoNodeTest.run("ctl", "set", "tau", "--node", "127.0.0.1:1");
        assertEquals(EapoNode.EXIT_BAD_INPUT, ctl.exit());
        assertTrue(ctl.err().contains("name=value"), ctl.err());
    }
}
