package ai.eapo.node;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
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

    private final List<Process> processes = new ArrayList<>();

    @AfterEach
    void killEverything() {
        processes.forEach(Process::destroyForcibly);
    }

    @Test
    void aFiveProcessClusterSurvivesAKilledSamplerAndAKilledLearner() throws Exception {
        assertTrue(Files.isRegularFile(JAR), JAR + " is built by `mvn package` before the integration tests");
        int learnerPort = freePort();
        int priorPort = freePort();
        String seeds = "127.0.0.1:" + learnerPort + ",127.0.0.1:" + priorPort;
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

        Process learner = start("learner", "learner-1", learnerPort, seeds, config);
        Process prior = start("prior", "prior", priorPort, seeds, config);
        Process verifier = start("verifier", "verifier", 0, seeds, config);
        Process samplerA = start("sampler", "sampler-a", 0, seeds, config);
        Process samplerB = start("sampler", "sampler-b", 0, seeds, config);

        await("two learner steps", () -> steps(metrics).size() >= 2);
        samplerA.destroyForcibly();
        // Its questions, if it held any, are re-issued; every step below still trains all of its questions.
        await("the killed sampler noticed", () -> log("learner-1").contains("sampler pekko://"));

        // ctl joins through the prior's node, not the learner's, and finds the learner anyway.
        EapoNodeTest.Run ctl = EapoNodeTest.run("ctl", "set", "tau=0.5", "--node", "127.0.0.1:" + priorPort);
        assertEquals(0, ctl.exit(), ctl.err());
        await("a step with the changed tau", () -> steps(metrics).values().stream()
                .anyMatch(l -> l.get("tau").asDouble() == 0.5));

        // One at a time, so the surviving side always has the majority the split-brain resolver keeps.
        prior = restart(prior, "prior", "prior-2", priorPort, seeds, config, metrics);
        verifier = restart(verifier, "verifier", "verifier-2", 0, seeds, config, metrics);
        assertTrue(log("sampler-b").contains("no prior answer"), "consultations of the dead prior were retried");
        assertTrue(log("sampler-b").contains("no verdict"), "checks of the dead verifier were retried");

        learner.destroyForcibly();
        learner.waitFor(30, TimeUnit.SECONDS);
        long resumeAt = newestCheckpoint(runDir);
        assertTrue(resumeAt < STEPS, "the learner was killed before the end (checkpoint " + resumeAt + ")");

        Process restarted = start("learner", "learner-2", learnerPort, seeds, config);
        assertTrue(restarted.waitFor(PATIENCE.toSeconds(), TimeUnit.SECONDS), "the resumed run did not finish: "
                + log("learner-2"));
        assertEquals(0, restarted.exitValue(), log("learner-2"));
        assertTrue(log("learner-2").contains("resuming run it at step " + resumeAt), log("learner-2"));
        System.out.printf("ClusterIT: the learner resumed at step %d of %d%n", resumeAt, STEPS);

        TreeMap<Long, JsonNode> lines = steps(metrics);
        assertEquals(STEPS, lines.size(), "one metrics line per step: " + lines.keySet());
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
        int learnerPort = freePort();
        String seeds = "127.0.0.1:" + learnerPort;
        String run = "eapo.train { steps = 2, questions-per-step = 2, eval-size = 0, results-dir = \""
                + work.resolve("results") + "\" }\neapo.pipeline.samplers = 1\n";
        Path learnerConfig = work.resolve("learner.conf");
        Files.writeString(learnerConfig, run);
        Path samplerConfig = work.resolve("sampler.conf");
        Files.writeString(samplerConfig, run + "eapo.rollout.temperature = 0.7\n");
        start("learner", "learner", learnerPort, seeds, learnerConfig);
        Process sampler = start("sampler", "sampler", 0, seeds, samplerConfig);
        assertTrue(sampler.waitFor(PATIENCE.toSeconds(), TimeUnit.SECONDS), "the sampler node did not stop: "
                + log("sampler"));
        assertTrue(sampler.exitValue() != 0, log("sampler"));
        assertTrue(log("sampler").contains("sampling settings differ across the nodes of the run")
                && log("sampler").contains("temperature 0.7") && log("sampler").contains("the learner with temperature 1.0"),
                log("sampler"));
        assertTrue(log("learner").contains("refused"), log("learner"));
    }

    /**
     * Kills a node, starts its role again, and waits until the new node has joined and the run has gone two
     * steps further; so the membership is stable again before the next failure.
     */
    private Process restart(Process dead, String role, String name, int port, String seeds, Path config, Path metrics)
            throws Exception {
        dead.destroyForcibly();
        dead.waitFor(30, TimeUnit.SECONDS);
        Process again = start(role, name, port, seeds, config);
        await("the restarted " + role + " joining", () -> log(name).contains("this node joined the cluster"));
        int joined = steps(metrics).size();
        await("two steps after restarting the " + role, () -> steps(metrics).size() >= joined + 2);
        return again;
    }

    private Process start(String role, String name, int port, String seeds, Path config) throws IOException {
        List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m", "-jar", JAR.toString(), "--role", role, "--port", String.valueOf(port),
                "--seed-nodes", seeds, "--config", config.toString(), "--run-id", "it");
        Process process = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(work.resolve(name + ".log").toFile()).start();
        processes.add(process);
        return process;
    }

    private String log(String name) {
        try {
            return Files.readString(work.resolve(name + ".log"));
        } catch (IOException e) {
            return "";
        }
    }

    /** metrics.jsonl by step (a resumed run rewrites the lines after its checkpoint). */
    private static TreeMap<Long, JsonNode> steps(Path metrics) {
        TreeMap<Long, JsonNode> lines = new TreeMap<>();
        try {
            if (Files.exists(metrics)) {
                ObjectMapper json = new ObjectMapper();
                for (String line : Files.readAllLines(metrics)) {
                    if (!line.isBlank()) {
                        JsonNode node = json.readTree(line);
                        JsonNode previous = lines.put(node.get("step").asLong(), node);
                        assertTrue(previous == null, "step " + node.get("step") + " written twice");
                    }
                }
            }
        } catch (IOException e) {
            return lines; // a line being written; look again
        }
        return lines;
    }

    private static long newestCheckpoint(Path runDir) throws IOException {
        try (var dirs = Files.list(runDir.resolve("checkpoints"))) {
            return dirs.map(p -> p.getFileName().toString()).filter(n -> n.matches("step-\\d{8}"))
                    .mapToLong(n -> Long.parseLong(n.substring(5))).max().orElseThrow();
        }
    }

    private void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        while (!condition.getAsBoolean()) {
            for (Process p : processes) {
                if (!p.isAlive() && p.exitValue() != 0 && p.exitValue() != 137) {
                    throw new AssertionError("a node failed while waiting for " + what + "; logs in " + work);
                }
            }
            assertTrue(System.nanoTime() < deadline, "timed out waiting for " + what + "; learner log:\n"
                    + log("learner-1"));
            Thread.sleep(250);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
