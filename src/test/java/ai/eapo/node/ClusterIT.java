package ai.eapo.node;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A cluster of separate JVMs on loopback, started from the built jar as a user starts them: a learner, two
 * samplers, a prior and a verifier run a short EAPO job. Mid-run one sampler is killed (its questions are
 * re-issued), {@code ctl} changes τ through another node, the prior and the verifier are killed and
 * restarted (the samplers' requests are retried until the new ones answer), and the learner is killed and
 * restarted with the same run id: it resumes from its last complete checkpoint, with the changed τ, and the
 * job finishes with every step's questions trained exactly once. The other nodes stop when the run is over.
 * A sampler node configured to sample otherwise than the learner is refused and stops, naming both settings.
 */
class ClusterIT {

    private static final Path JAR = Path.of("target/eapo-node.jar");
    private static final int STEPS = 24;
    private static final int QUESTIONS = 4;
    private static final Duration PATIENCE = Duration.ofMinutes(4);

    @TempDir
    Path work;

    private LocalCluster cluster;

    @BeforeEach
    void cluster() throws IOException {
        cluster = new LocalCluster(JAR, work, "it");
    }

    @AfterEach
    void killEverything() {
        cluster.close();
    }

    @Test
    void aFiveProcessClusterSurvivesAKilledSamplerAndAKilledLearner() throws Exception {
        assertTrue(Files.isRegularFile(JAR), JAR + " is built by `mvn package` before the integration tests");
        Path results = work.resolve("results");
        Path config = work.resolve("cluster-it.conf");
        Files.writeString(config, String.join("\n",
                "eapo.train { steps = " + STEPS + ", questions-per-step = " + QUESTIONS + ", eval-size = 0,",
                "  checkpoint-every = 1, keep-checkpoints = 2, results-dir = \"" + results + "\" }",
                "eapo.algorithm { group-size = 4, experience { initial-ratio = 0.5, entropy-threshold = 0.3 } }",
                "eapo.rollout.max-new-tokens = 48",
                "eapo.pipeline { samplers = 1, verifiers = 1, retry-after = 5s }",
                "eapo.node.finish-announcement = 3s",
                "pekko.cluster.split-brain-resolver.stable-after = 3s"));
        Path runDir = results.resolve("it");
        Path metrics = runDir.resolve("metrics.jsonl");

        cluster.start("learner", "learner-1", config);
        Process prior = cluster.start("prior", "prior", config);
        Process verifier = cluster.start("verifier", "verifier", config);
        cluster.start("sampler", "sampler-a", config);
        Process samplerB = cluster.start("sampler", "sampler-b", config);

        await("two learner steps", () -> LocalCluster.steps(metrics).size() >= 2);
        cluster.kill("sampler-a");
        // Its questions, if it held any, are re-issued; every step below still trains all of its questions.
        await("the killed sampler noticed", () -> log("learner-1").contains("sampler pekko://"));

        // ctl joins through the prior's node, not the learner's, and finds the learner anyway.
        EapoNodeTest.Run ctl = EapoNodeTest.run("ctl", "set", "tau=0.5", "--node", "127.0.0.1:" + cluster.priorPort());
        assertEquals(0, ctl.exit(), ctl.err());
        await("a step with the changed tau", () -> LocalCluster.steps(metrics).values().stream()
                .anyMatch(l -> l.get("tau").asDouble() == 0.5));

        // One at a time, so the surviving side always has the majority the split-brain resolver keeps.
        prior = restart("prior", "prior", "prior-2", config, metrics);
        verifier = restart("verifier", "verifier", "verifier-2", config, metrics);
        assertTrue(log("sampler-b").contains("no prior answer"), "consultations of the dead prior were retried");
        assertTrue(log("sampler-b").contains("no verdict"), "checks of the dead verifier were retried");

        cluster.kill("learner-1");
        long resumeAt = newestCheckpoint(runDir);
        assertTrue(resumeAt < STEPS, "the learner was killed before the end (checkpoint " + resumeAt + ")");

        Process restarted = cluster.start("learner", "learner-2", config);
        assertTrue(restarted.waitFor(PATIENCE.toSeconds(), TimeUnit.SECONDS), "the resumed run did not finish: "
                + log("learner-2"));
        assertEquals(0, restarted.exitValue(), log("learner-2"));
        assertTrue(log("learner-2").contains("resuming run it at step " + resumeAt), log("learner-2"));
        System.out.printf("ClusterIT: the learner resumed at step %d of %d%n", resumeAt, STEPS);

        TreeMap<Long, JsonNode> lines = LocalCluster.steps(metrics);
        assertEquals(STEPS, lines.size(), "one metrics line per step: " + lines.keySet());
        assertEquals(STEPS, Files.readAllLines(metrics).stream().filter(l -> !l.isBlank()).count(),
                "no step written twice (a resumed run drops the lines it trains again)");
        for (JsonNode line : lines.values()) {
            assertEquals(QUESTIONS, line.get("groups").asInt(), "every question of step " + line.get("step") + " trained");
        }
        for (long step = resumeAt; step < STEPS; step++) {
            assertEquals(0.5, lines.get(step).get("tau").asDouble(), "the resumed learner kept the changed tau");
        }
        for (Process worker : List.of(prior, verifier, samplerB)) {
            assertTrue(worker.waitFor(60, TimeUnit.SECONDS), "a worker node did not stop after the run");
            assertEquals(0, worker.exitValue());
        }
        assertTrue(log("sampler-b").contains("the run finished"), log("sampler-b"));
    }

    @Test
    void aSamplerNodeSamplingAtAnotherTemperatureThanTheLearnersIsRefusedAndStops() throws Exception {
        String run = "eapo.train { steps = 2, questions-per-step = 2, eval-size = 0, results-dir = \""
                + work.resolve("results") + "\" }\neapo.pipeline.samplers = 1\n";
        Path learnerConfig = work.resolve("learner.conf");
        Files.writeString(learnerConfig, run);
        Path samplerConfig = work.resolve("sampler.conf");
        Files.writeString(samplerConfig, run + "eapo.rollout.temperature = 0.7\n");
        cluster.start("learner", "learner", learnerConfig);
        Process sampler = cluster.start("sampler", "sampler", samplerConfig);
        assertTrue(sampler.waitFor(PATIENCE.toSeconds(), TimeUnit.SECONDS), "the sampler node did not stop: "
                + log("sampler"));
        assertTrue(sampler.exitValue() != 0, log("sampler"));
        assertTrue(log("sampler").contains("sampling settings differ across the nodes of the run")
                && log("sampler").contains("temperature 0.7") && log("sampler").contains("the learner with temperature 1.0"),
                log("sampler"));
        assertTrue(log("learner").contains("refused"), log("learner"));
    }

    /**
     * Kills node {@code dead}, starts its role again as {@code name}, and waits until the new node has joined and
     * the run has gone two steps further; so the membership is stable again before the next failure.
     */
    private Process restart(String role, String dead, String name, Path config, Path metrics) throws Exception {
        cluster.kill(dead);
        Process again = cluster.start(role, name, config);
        await("the restarted " + role + " joining", () -> log(name).contains("this node joined the cluster"));
        int joined = LocalCluster.steps(metrics).size();
        await("two steps after restarting the " + role, () -> LocalCluster.steps(metrics).size() >= joined + 2);
        return again;
    }

    private String log(String name) {
        return cluster.logOf(name);
    }

    private static long newestCheckpoint(Path runDir) throws IOException {
        try (var dirs = Files.list(runDir.resolve("checkpoints"))) {
            return dirs.map(p -> p.getFileName().toString()).filter(n -> n.matches("step-\\d{8}"))
                    .mapToLong(n -> Long.parseLong(n.substring(5))).max().orElseThrow();
        }
    }

    private void await(String what, BooleanSupplier condition) throws InterruptedException {
        cluster.await(what, condition, System.nanoTime() + PATIENCE.toNanos());
    }
}
