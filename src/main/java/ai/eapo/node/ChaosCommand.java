package ai.eapo.node;

import ai.eapo.UserInputException;
import ai.eapo.model.Checkpoint;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code chaos [--kills N] [--steps S] [--seed K]}: the determinism invariant under faults (issue #21). Trains a
 * small EAPO run twice from the same seed with {@code max-staleness = 0} and the prior without its KV cache: once
 * in one process without faults, once as a cluster of processes on loopback (learner, prior, verifier, two
 * samplers) in which a node is killed with SIGKILL at a random moment and started again, N times (roles drawn in
 * rounds, every role once per round in a seeded random order; which sampler, and when, also seeded).
 * Then compares the final weights byte for byte and every step's rewards, and prints (and writes to
 * {@code OUT/chaos.md}, {@code chaos.json}) the kills per role, the steps the learner trained again, the questions
 * re-issued, the late answers dropped, the delay each kill caused, and the verdict. Exit 0 only when both are
 * equal. Bounded: at most {@code --minutes}, then every node is killed and the run reported as timed out.
 */
@Command(name = "chaos", mixinStandardHelpOptions = true,
        description = "Kill random roles of a loopback cluster N times and check the run ends bit-identical to a fault-free one.")
final class ChaosCommand implements Callable<Integer> {

    static final List<String> ROLES = List.of("sampler", "prior", "verifier", "learner");
    private static final String RUN_ID = "chaos";
    private static final String REFERENCE_ID = "reference";
    private static final Pattern RESUMED = Pattern.compile("resuming run \\S+ at step (\\d+)");
    private static final Pattern REISSUED = Pattern.compile("re-issuing (\\d+) question");
    private static final String LATE_ANSWER = "dropped a late answer";
    private static final String JOINED = "this node joined the cluster";
    /** The samplers of the cluster, each killed and restarted on its own. */
    private static final int SAMPLER_NODES = 2;
    /** How long the other nodes get to stop by themselves once the learner has finished the run. */
    private static final int NODE_STOP_SECONDS = 60;
    /** Lines of a failed run's log quoted in the error. */
    private static final int LOG_TAIL_LINES = 15;
    /** The longest wait before a kill, after the learner has stepped since the last restart. */
    private static final int MAX_KILL_DELAY_MS = 1500;

    @Option(names = "--kills", description = "Nodes to kill, one at a time (default ${DEFAULT-VALUE}).")
    int kills = 20;

    @Option(names = "--steps", description = "Learner steps of the run (default ${DEFAULT-VALUE}).")
    int steps = 40;

    @Option(names = "--seed", description = "Seed of the run and of the kills (default ${DEFAULT-VALUE}).")
    long seed = 0;

    @Option(names = "--questions-per-step", description = "Questions per step (default ${DEFAULT-VALUE}).")
    int questions = 4;

    @Option(names = "--minutes", description = "Time bound of the whole command (default ${DEFAULT-VALUE}).")
    int minutes = 30;

    @Option(names = "--out", description = "Work directory: configuration, node logs, both runs, the report (default ${DEFAULT-VALUE}).")
    Path out = Path.of("results/chaos");

    @Option(names = "--jar", description = "The jar the nodes run (default: the one this command runs from, else ${DEFAULT-VALUE}).")
    Path jar = Path.of("target/eapo-node.jar");

    @Option(names = "--config", description = "Further configuration for both runs, HOCON (e.g. the model and data).")
    Path extraConfig;

    /** One kill: which node, when, how far the learner was, and how long until it trained a new step. */
    record Kill(String role, String node, long atStep, double secondsToNextStep) {
    }

    @Override
    public Integer call() throws Exception {
        if (kills < 0 || steps < 2 || questions < 1 || minutes < 1) {
            throw new UserInputException("chaos: --kills " + kills + ", --steps " + steps + ", --questions-per-step "
                    + questions + ", --minutes " + minutes + ": kills >= 0, steps >= 2, the others >= 1");
        }
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(minutes);
        Files.createDirectories(out);
        // The nodes start from a copy: rebuilding the project meanwhile cannot pull the jar from under the run.
        Path jarFile = Files.copy(LocalCluster.ownJar(jar), out.resolve("eapo-node.jar"),
                StandardCopyOption.REPLACE_EXISTING);
        Path results = out.resolve("results");
        for (String run : List.of(RUN_ID, REFERENCE_ID)) {
            if (Files.exists(results.resolve(run))) {
                Checkpoint.deleteTree(results.resolve(run));
            }
        }
        Path config = writeConfig(results);

        System.out.printf("chaos: the fault-free reference run (%d steps, seed %d) in one process%n", steps, seed);
        long started = System.nanoTime();
        Process reference = new ProcessBuilder(LocalCluster.java(), "-jar", jarFile.toString(), "train", "--config",
                config.toString(), "--run-id", REFERENCE_ID, "--port", "0").redirectErrorStream(true)
                .redirectOutput(out.resolve("reference.log").toFile()).start();
        if (!reference.waitFor(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS) || reference.exitValue() != 0) {
            reference.destroyForcibly();
            List<String> log = Files.readAllLines(out.resolve("reference.log"));
            throw new IllegalStateException("the reference run did not finish; the end of " + out.resolve("reference.log")
                    + ":\n" + String.join("\n", log.subList(Math.max(0, log.size() - LOG_TAIL_LINES), log.size())));
        }
        double referenceSeconds = (System.nanoTime() - started) / 1e9;

        System.out.printf("chaos: the cluster run with %d kills%n", kills);
        started = System.nanoTime();
        List<Kill> done = new ArrayList<>();
        Map<String, String> current = new LinkedHashMap<>();
        Path metrics = results.resolve(RUN_ID).resolve("metrics.jsonl");
        try (LocalCluster cluster = new LocalCluster(jarFile, out, RUN_ID)) {
            for (String node : nodeSlots()) {
                String name = node + "-1";
                cluster.start(roleOf(node), name, config);
                current.put(node, name);
            }
            Random random = new Random(seed);
            // Roles in rounds, each round every role once in a random order: a few kills already reach them all.
            List<String> round = new ArrayList<>();
            long restartedAt = -1;
            while (done.size() < kills && cluster.process(current.get("learner")).isAlive()) {
                long after = restartedAt;
                cluster.await("a learner step before the next kill", () -> lastStep(metrics) > after
                        || !cluster.process(current.get("learner")).isAlive(), deadline);
                Thread.sleep(random.nextInt(MAX_KILL_DELAY_MS));
                if (!cluster.process(current.get("learner")).isAlive()) {
                    break;
                }
                if (round.isEmpty()) {
                    round.addAll(ROLES);
                    Collections.shuffle(round, random);
                }
                String role = round.remove(0);
                String slot = role.equals("sampler") ? "sampler-" + (char) ('a' + random.nextInt(SAMPLER_NODES)) : role;
                long atStep = lastStep(metrics);
                long killedAt = System.nanoTime();
                cluster.kill(current.get(slot));
                String name = slot + "-" + (incarnation(current.get(slot)) + 1);
                System.out.printf("chaos: kill %d of %d: %s at step %d; starting %s%n", done.size() + 1, kills,
                        current.get(slot), atStep + 1, name);
                cluster.start(role, name, config);
                current.put(slot, name);
                cluster.await(name + " joining", () -> cluster.logOf(name).contains(JOINED)
                        || !cluster.process(name).isAlive(), deadline);
                cluster.await("a new learner step after the kill of " + slot, () -> lastStep(metrics) > atStep
                        || !cluster.process(current.get("learner")).isAlive(), deadline);
                restartedAt = lastStep(metrics);
                done.add(new Kill(role, name, atStep + 1, (System.nanoTime() - killedAt) / 1e9));
            }
            String finalLearner = current.get("learner");
            cluster.await("the run's end", () -> !cluster.process(current.get("learner")).isAlive(), deadline);
            int exit = cluster.process(finalLearner).exitValue();
            if (exit != 0) {
                throw new IllegalStateException("the learner ended with exit " + exit + "; see " + cluster.log(finalLearner));
            }
            double chaosSeconds = (System.nanoTime() - started) / 1e9;
            for (String node : current.values()) {
                cluster.process(node).waitFor(NODE_STOP_SECONDS, TimeUnit.SECONDS);
            }
            return report(cluster, done, results, referenceSeconds, chaosSeconds);
        }
    }

    /** The node slots of the cluster: one learner, prior and verifier, two samplers. */
    private static List<String> nodeSlots() {
        List<String> slots = new ArrayList<>(List.of("learner", "prior", "verifier"));
        for (int i = 0; i < SAMPLER_NODES; i++) {
            slots.add("sampler-" + (char) ('a' + i));
        }
        return slots;
    }

    private static String roleOf(String slot) {
        return slot.startsWith("sampler") ? "sampler" : slot;
    }

    private static int incarnation(String name) {
        return Integer.parseInt(name.substring(name.lastIndexOf('-') + 1));
    }

    private static long lastStep(Path metrics) {
        TreeMap<Long, JsonNode> lines = LocalCluster.steps(metrics);
        return lines.isEmpty() ? -1 : lines.lastKey();
    }

    /** The runs' configuration: a small EAPO run both runs share, then the user's. */
    private Path writeConfig(Path results) throws IOException {
        Path config = out.resolve("chaos.conf");
        List<String> lines = new ArrayList<>(List.of(
                "eapo.train { steps = " + steps + ", questions-per-step = " + questions + ", seed = " + seed
                        + ", eval-size = 0,",
                "  checkpoint-every = 1, keep-checkpoints = 2, results-dir = \"" + results.toAbsolutePath() + "\" }",
                "eapo.algorithm { group-size = 4, experience { initial-ratio = 0.5, entropy-threshold = 0.3 } }",
                "eapo.rollout.max-new-tokens = 48",
                "# The determinism invariant's two conditions: no sampler ahead of the learner, prior answers from",
                "# the history alone.",
                "eapo.pipeline { samplers = 1, verifiers = 1, retry-after = 3s, max-staleness = 0, prior-kv-cache = false }",
                "eapo.node.finish-announcement = 3s",
                "pekko.cluster.split-brain-resolver.stable-after = 3s"));
        if (extraConfig != null) {
            lines.add("include file(\"" + extraConfig.toAbsolutePath() + "\")");
        }
        Files.write(config, lines, StandardCharsets.UTF_8);
        return config;
    }

    /** Compares both runs, prints and writes the table; 0 when weights and rewards are equal. */
    private int report(LocalCluster cluster, List<Kill> done, Path results, double referenceSeconds,
                       double chaosSeconds) throws IOException {
        Path referenceRun = results.resolve(REFERENCE_ID);
        Path chaosRun = results.resolve(RUN_ID);
        String weights = "checkpoints/step-" + String.format("%08d", steps) + "/model.safetensors";
        boolean weightsEqual = Arrays.equals(Files.readAllBytes(referenceRun.resolve(weights)),
                Files.readAllBytes(chaosRun.resolve(weights)));
        TreeMap<Long, JsonNode> expected = LocalCluster.steps(referenceRun.resolve("metrics.jsonl"));
        TreeMap<Long, JsonNode> actual = LocalCluster.steps(chaosRun.resolve("metrics.jsonl"));
        List<Long> differing = new ArrayList<>();
        for (long step = 0; step < steps; step++) {
            JsonNode a = expected.get(step);
            JsonNode b = actual.get(step);
            if (a == null || b == null || a.path("reward_mean").asDouble() != b.path("reward_mean").asDouble()
                    || a.path("groups").asInt() != b.path("groups").asInt()) {
                differing.add(step);
            }
        }
        boolean rewardsEqual = differing.isEmpty();

        long rerun = 0;
        long reissued = 0;
        long late = 0;
        for (String node : cluster.names()) {
            String log = cluster.logOf(node);
            Matcher m = REISSUED.matcher(log);
            while (m.find()) {
                reissued += Long.parseLong(m.group(1));
            }
            late += log.split(LATE_ANSWER, -1).length - 1;
        }
        for (Kill k : done) {
            if (k.role().equals("learner")) {
                Matcher m = RESUMED.matcher(cluster.logOf(k.node()));
                if (m.find()) {
                    rerun += Math.max(0, k.atStep() - Long.parseLong(m.group(1)));
                }
            }
        }
        double referenceStep = referenceSeconds / steps;
        StringBuilder md = new StringBuilder(String.format(Locale.ROOT, "# Chaos run: %d kills over %d steps, seed %d%n%n"
                + "Reference (one process, no faults): %.0f s, %.2f s per step. Cluster with kills: %.0f s.%n%n"
                + "| role | kills | mean seconds from the kill to the next new learner step |%n|---|---|---|%n",
                done.size(), steps, seed, referenceSeconds, referenceStep, chaosSeconds));
        ObjectNode json = new ObjectMapper().createObjectNode();
        ObjectNode byRole = json.putObject("kills");
        for (String role : ROLES) {
            double[] delays = done.stream().filter(k -> k.role().equals(role)).mapToDouble(Kill::secondsToNextStep).toArray();
            double mean = Arrays.stream(delays).average().orElse(Double.NaN);
            md.append(String.format(Locale.ROOT, "| %s | %d | %s |%n", role, delays.length,
                    delays.length == 0 ? "–" : String.format(Locale.ROOT, "%.1f", mean)));
            byRole.putObject(role).put("kills", delays.length).put("mean_seconds_to_next_step", mean);
        }
        md.append(String.format(Locale.ROOT, "%n- steps the learner trained again after its kills: %d%n"
                + "- questions re-issued (of samplers that stopped): %d%n- late answers dropped (of a question already "
                + "complete or a step already trained): %d%n- **weights equal: %s**; **rewards equal at every step: %s**%s%n",
                rerun, reissued, late, weightsEqual ? "yes" : "NO", rewardsEqual ? "yes" : "NO",
                rewardsEqual ? "" : " (steps " + differing + ")"));
        json.put("steps", steps).put("seed", seed).put("reference_seconds", referenceSeconds)
                .put("chaos_seconds", chaosSeconds).put("steps_rerun", rerun).put("questions_reissued", reissued)
                .put("late_answers_dropped", late).put("weights_equal", weightsEqual).put("rewards_equal", rewardsEqual);
        Files.writeString(out.resolve("chaos.md"), md, StandardCharsets.UTF_8);
        new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(out.resolve("chaos.json").toFile(), json);
        System.out.print(md);
        return weightsEqual && rewardsEqual ? 0 : EapoNode.EXIT_FAILURE;
    }
}
