package ai.eapo.node;

import ai.eapo.UserInputException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.jar.JarFile;

/**
 * Nodes of one run as separate processes of the built jar on loopback, as a user starts them: started, killed
 * (SIGKILL) and started again by role, each with its log file in a work directory. The learner and the prior get
 * fixed ports and are the seed nodes, so a restarted one comes back where the others look for it.
 */
final class LocalCluster implements AutoCloseable {

    /** How often a condition is looked at while waiting. */
    private static final Duration POLL = Duration.ofMillis(100);
    /** A node killed by SIGKILL exits with 128 + 9. */
    static final int KILLED = 137;
    private static final String HEAP = "-Xmx512m";

    private final Path jar;
    private final Path work;
    private final String runId;
    private final int learnerPort;
    private final int priorPort;
    /** Every process started, by node name (role-incarnation), in start order. */
    private final Map<String, Process> nodes = new LinkedHashMap<>();

    LocalCluster(Path jar, Path work, String runId) throws IOException {
        this.jar = jar;
        this.work = work;
        this.runId = runId;
        this.learnerPort = freePort();
        this.priorPort = freePort();
    }

    /** Starts node {@code name} with {@code role} and {@code config}; its output goes to {@code work/name.log}. */
    Process start(String role, String name, Path config) {
        int port = role.equals("learner") ? learnerPort : role.equals("prior") ? priorPort : 0;
        String seeds = "127.0.0.1:" + learnerPort + ",127.0.0.1:" + priorPort;
        List<String> command = List.of(java(), HEAP, "-jar", jar.toString(), "train", "--role", role,
                "--host", "127.0.0.1", "--port", String.valueOf(port), "--seed-nodes", seeds,
                "--config", config.toString(), "--run-id", runId);
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(log(name).toFile()).start();
            nodes.put(name, process);
            return process;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start node " + name + " (" + String.join(" ", command) + ")", e);
        }
    }

    /** Kills node {@code name} with SIGKILL and waits until it is gone. */
    void kill(String name) throws InterruptedException {
        Process p = nodes.get(name);
        p.destroyForcibly();
        p.waitFor(30, TimeUnit.SECONDS);
    }

    /** The text node {@code name} wrote so far ("" before it wrote anything). */
    String logOf(String name) {
        try {
            return Files.exists(log(name)) ? Files.readString(log(name)) : "";
        } catch (IOException e) {
            return "";
        }
    }

    Path log(String name) {
        return work.resolve(name + ".log");
    }

    /** The port of the prior's node, a seed node: any node there reaches the cluster. */
    int priorPort() {
        return priorPort;
    }

    Process process(String name) {
        return nodes.get(name);
    }

    /** Names of the nodes started, in order. */
    List<String> names() {
        return new ArrayList<>(nodes.keySet());
    }

    /**
     * Waits until {@code condition} holds; fails when {@code deadline} (System.nanoTime) passes or a node exits
     * with an error of its own (not a kill, not a clean stop), naming its log.
     */
    void await(String what, BooleanSupplier condition, long deadline) throws InterruptedException {
        while (!condition.getAsBoolean()) {
            for (Map.Entry<String, Process> node : nodes.entrySet()) {
                Process p = node.getValue();
                if (!p.isAlive() && p.exitValue() != 0 && p.exitValue() != KILLED) {
                    throw new IllegalStateException("node " + node.getKey() + " failed (exit " + p.exitValue()
                            + ") while waiting for " + what + "; see " + log(node.getKey()));
                }
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("timed out waiting for " + what + "; logs in " + work);
            }
            Thread.sleep(POLL.toMillis());
        }
    }

    /** Kills every node still running. */
    @Override
    public void close() {
        nodes.values().forEach(Process::destroyForcibly);
    }

    /** metrics.jsonl by step; a line being written is left for the next look. */
    static TreeMap<Long, JsonNode> steps(Path metrics) {
        TreeMap<Long, JsonNode> lines = new TreeMap<>();
        if (!Files.exists(metrics)) {
            return lines;
        }
        ObjectMapper json = new ObjectMapper();
        try {
            for (String line : Files.readAllLines(metrics)) {
                if (!line.isBlank()) {
                    try {
                        JsonNode node = json.readTree(line);
                        lines.put(node.get("step").asLong(), node);
                    } catch (IOException partial) {
                        break;
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + metrics, e);
        }
        return lines;
    }

    /** The java of this process, so the nodes run on the same runtime. */
    static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /**
     * The runnable jar this class was loaded from, or {@code fallback} when running from classes or from a jar
     * without a Main-Class (tests: Maven puts the project's plain jar on their class path, not the shaded one).
     */
    static Path ownJar(Path fallback) {
        try {
            Path location = Path.of(LocalCluster.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            if (Files.isRegularFile(location)) {
                try (JarFile jar = new JarFile(location.toFile())) {
                    if (jar.getManifest() != null && jar.getManifest().getMainAttributes().getValue("Main-Class") != null) {
                        return location;
                    }
                }
            }
        } catch (Exception e) {
            // fall through: not loaded from a runnable jar
        }
        if (fallback == null || !Files.isRegularFile(fallback)) {
            throw new UserInputException("no jar to start nodes from: not running from one, and " + fallback
                    + " is not a file (build it with mvn package, or pass --jar)");
        }
        return fallback;
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
