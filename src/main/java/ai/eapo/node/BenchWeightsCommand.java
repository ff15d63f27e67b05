package ai.eapo.node;

import ai.djl.Device;
import ai.djl.ndarray.types.Shape;
import ai.eapo.UserInputException;
import ai.eapo.actors.WeightServer;
import ai.eapo.actors.WeightTransfer;
import ai.eapo.model.ModelConfig;
import ai.eapo.model.PolicyModel;
import ai.eapo.model.SamplingParams;
import ai.eapo.model.WeightBytes;
import ai.eapo.model.WeightSnapshot;

import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.StreamSupport;
import java.util.zip.CRC32C;

/**
 * {@code bench weights}: how fast a weight version crosses nodes. Two actor systems in this JVM form a
 * cluster over Artery on loopback; the "learner" node's {@link WeightServer} holds a random fp32 model of
 * about {@code --megabytes}, and the "sampler" node fetches it {@code --repeats} times the way a remote sampler
 * does: {@code Fetch} → {@code Streamed} offer → {@link WeightTransfer#receive} (chunks over StreamRefs into one
 * array, checksum verified). A transfer's time runs from the fetch to the verified bytes. The baseline is the
 * same bytes over a plain {@link Socket} on loopback (one connection per repetition, read into one array, no
 * checksum). Also measured: the checksums (CRC32C, SHA-256) alone, the server's work per version (host copy
 * and checksum), and loading the received bytes into a replica.
 */
@Command(name = "weights", mixinStandardHelpOptions = true,
        description = "Throughput of the streamed weight transfer between two nodes on loopback, against a plain socket; writes results/bench-weights.json.")
public final class BenchWeightsCommand implements Callable<Integer> {

    @Option(names = "--megabytes", defaultValue = "100", description = "Model size in MB (10^6 bytes; default: ${DEFAULT-VALUE}).")
    int megabytes;

    @Option(names = "--repeats", defaultValue = "10", description = "Timed transfers of each kind (default: ${DEFAULT-VALUE}).")
    int repeats;

    @Option(names = "--warmup", defaultValue = "3", description = "Untimed transfers of each kind first, for the JIT (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--chunk-bytes", description = "Bytes per streamed chunk (default: eapo.weights.chunk-bytes).")
    Long chunkBytes;

    @Option(names = "--out", defaultValue = "results/bench-weights.json", description = "JSON report (default: ${DEFAULT-VALUE}).")
    Path out;

    private static final double MB = 1e6;
    /**
     * How long the benchmark waits for one thing between its two loopback nodes (an answer, a cluster forming,
     * a shutdown) before it fails: far above what any of them takes on one machine.
     */
    private static final long WAIT_SECONDS = 30;
    /** Pause between checks of whether the two nodes have formed a cluster. */
    private static final long CLUSTER_POLL_MILLIS = 50;

    @Override
    public Integer call() throws Exception {
        if (megabytes < 1 || repeats < 1 || warmup < 0) {
            throw new UserInputException("--megabytes and --repeats must be at least 1, --warmup at least 0");
        }
        Map<String, Object> overrides = new HashMap<>();
        overrides.put("pekko.remote.artery.canonical.port", 0);
        overrides.put("pekko.loglevel", "WARNING");
        if (chunkBytes != null) {
            overrides.put("eapo.weights.chunk-bytes", chunkBytes);
        }
        Config config = ConfigFactory.parseMap(overrides).withFallback(ConfigFactory.load());
        int chunk = (int) config.getMemorySize("eapo.weights.chunk-bytes").toBytes();
        long frame = config.getMemorySize("pekko.remote.artery.advanced.maximum-frame-size").toBytes();

        ModelConfig shape = shapeOf((long) megabytes * 1_000_000L);
        ActorSystem<Void> learnerNode = ActorSystem.create(Behaviors.empty(), "eapo", config);
        ActorSystem<Void> samplerNode = ActorSystem.create(Behaviors.empty(), "eapo", config);
        try (PolicyModel model = PolicyModel.random(shape, Device.cpu(), 1, 0.02f);
             PolicyModel replica = PolicyModel.random(shape, Device.cpu(), 2, 0.02f)) {
            joinCluster(learnerNode, samplerNode);

            // The server's work per version, and the checksums alone, on the same bytes.
            List<Double> publishMs = new ArrayList<>();
            WeightBytes bytes = null;
            for (int i = 0; i < warmup + repeats; i++) {
                WeightSnapshot snapshot = WeightSnapshot.of(model, 1);
                long t0 = System.nanoTime();
                bytes = WeightBytes.of(snapshot);
                long t1 = System.nanoTime();
                snapshot.release();
                if (i >= warmup) {
                    publishMs.add((t1 - t0) / 1e6);
                }
            }
            long size = bytes.length();
            byte[] raw = bytes.bytes();
            List<Double> crc = new ArrayList<>();
            List<Double> sha = new ArrayList<>();
            for (int i = 0; i < warmup + repeats; i++) {
                double c = rate(size, timeNanos(() -> crc32c(raw)));
                double s = rate(size, timeNanos(() -> sha256(raw)));
                if (i >= warmup) {
                    crc.add(c);
                    sha.add(s);
                }
            }

            // Streamed: Fetch → Streamed → receive and verify.
            ActorRef<WeightServer.Command> server = learnerNode.systemActorOf(WeightServer.create(chunk, SamplingParams.PLAIN, null), "weight-server", Props.empty());
            server.tell(new WeightServer.Publish(WeightSnapshot.of(model, 1)));
            ActorRef<WeightServer.Command> remote = ActorRefResolver.get(samplerNode)
                    .resolveActorRef(ActorRefResolver.get(learnerNode).toSerializationFormat(server));
            WeightTransfer transfer = new WeightTransfer(samplerNode);
            List<Double> streamed = new ArrayList<>();
            List<Double> loadMs = new ArrayList<>();
            for (int i = 0; i < warmup + repeats; i++) {
                long t0 = System.nanoTime();
                WeightServer.Offer offer = AskPattern.<WeightServer.Command, WeightServer.Offer>ask(remote,
                        replyTo -> new WeightServer.Fetch(1, replyTo), Duration.ofSeconds(WAIT_SECONDS), samplerNode.scheduler())
                        .toCompletableFuture().get(WAIT_SECONDS, TimeUnit.SECONDS);
                if (!(offer instanceof WeightServer.Streamed stream)) {
                    throw new IllegalStateException("expected a streamed offer, got " + offer);
                }
                WeightBytes received = transfer.receive(stream).toCompletableFuture()
                        .get(transfer.settings().timeout().toSeconds() + 10, TimeUnit.SECONDS);
                long t1 = System.nanoTime();
                received.loadInto(replica);
                long t2 = System.nanoTime();
                if (!received.checksum().equals(bytes.checksum())) {
                    throw new IllegalStateException("received " + received.checksum() + ", published " + bytes.checksum());
                }
                if (i >= warmup) {
                    streamed.add(rate(size, t1 - t0));
                    loadMs.add((t2 - t1) / 1e6);
                }
                System.out.printf("  streamed %s %d: %.0f MB/s%n", i < warmup ? "warm-up" : "timed", i, rate(size, t1 - t0));
            }

            // Baseline: the same bytes over a plain loopback socket.
            List<Double> socket = new ArrayList<>();
            for (int i = 0; i < warmup + repeats; i++) {
                double r = rate(size, socketTransfer(raw));
                if (i >= warmup) {
                    socket.add(r);
                }
                System.out.printf("  socket   %s %d: %.0f MB/s%n", i < warmup ? "warm-up" : "timed", i, r);
            }

            ObjectNode report = new ObjectMapper().createObjectNode();
            report.put("when", Instant.now().toString());
            report.put("bytes", size);
            report.put("tensors", bytes.layout().tensors().size());
            report.put("chunk_bytes", chunk);
            report.put("maximum_frame_size", frame);
            report.put("maximum_large_frame_size", config.getMemorySize("pekko.remote.artery.advanced.maximum-large-frame-size").toBytes());
            report.putPOJO("large_message_destinations", config.getStringList("pekko.remote.artery.large-message-destinations"));
            report.put("stream_ref_buffer_capacity", config.getInt("pekko.stream.materializer.stream-ref.buffer-capacity"));
            report.put("transport", config.getString("pekko.remote.artery.transport"));
            report.put("repeats", repeats);
            report.put("warmup", warmup);
            report.put("cpus", Runtime.getRuntime().availableProcessors());
            report.put("java", System.getProperty("java.version"));
            summary(report.putObject("streamed_mb_per_s"), streamed);
            summary(report.putObject("socket_mb_per_s"), socket);
            report.put("streamed_over_socket", median(streamed) / median(socket));
            ObjectNode checksums = report.putObject("checksum_mb_per_s");
            summary(checksums.putObject("crc32c"), crc);
            summary(checksums.putObject("sha256"), sha);
            report.put("checksum_algorithm", WeightBytes.ALGORITHM);
            summary(report.putObject("server_bytes_and_checksum_ms"), publishMs);
            summary(report.putObject("load_into_replica_ms"), loadMs);
            Path parent = out.toAbsolutePath().getParent();
            Files.createDirectories(parent);
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(out.toFile(), report);

            System.out.printf("%n%.1f MB (%d tensors), chunks of %d bytes, maximum frame %d bytes, %d timed repeats after %d warm-up%n",
                    size / MB, bytes.layout().tensors().size(), chunk, frame, repeats, warmup);
            System.out.printf("%-28s %10s %10s %10s%n", "MB/s", "min", "median", "max");
            row("streamed (incl. checksum)", streamed);
            row("plain socket", socket);
            row("crc32c", crc);
            row("sha256", sha);
            System.out.printf("streamed / socket (medians): %.2f%n", median(streamed) / median(socket));
            System.out.printf("server, bytes + checksum per version: %.0f ms (median); loading into a replica: %.0f ms%n",
                    median(publishMs), median(loadMs));
            System.out.printf("written to %s%n", out);
            return 0;
        } finally {
            samplerNode.terminate();
            learnerNode.terminate();
            samplerNode.getWhenTerminated().toCompletableFuture().get(WAIT_SECONDS, TimeUnit.SECONDS);
            learnerNode.getWhenTerminated().toCompletableFuture().get(WAIT_SECONDS, TimeUnit.SECONDS);
        }
    }

    /**
     * A Qwen2-shaped config of about {@code targetBytes} of fp32 weights: up to four layers of width 512 (fewer
     * and narrower for small targets), with the vocabulary filling the rest.
     */
    static ModelConfig shapeOf(long targetBytes) {
        long target = targetBytes / 4;
        for (int hidden : new int[]{512, 256, 128, 64}) {
            for (int layers = 4; layers >= 1; layers--) {
                ModelConfig one = ModelConfig.qwen2(1, hidden, hidden * 11 / 4, layers, hidden / 64, Math.max(1, hidden / 256),
                        true, List.of(0));
                long fixed = elements(one) - hidden;
                long vocab = (target - fixed) / hidden;
                if (vocab >= 1024) {
                    return ModelConfig.qwen2((int) vocab, hidden, hidden * 11 / 4, layers, hidden / 64,
                            Math.max(1, hidden / 256), true, List.of(0));
                }
            }
        }
        throw new UserInputException("--megabytes is too small for a model");
    }

    private static long elements(ModelConfig config) {
        return PolicyModel.expectedShapes(config).values().stream().mapToLong(Shape::size).sum();
    }

    private static void joinCluster(ActorSystem<?> first, ActorSystem<?> second) throws InterruptedException {
        var address = Cluster.get(first).selfMember().address();
        Cluster.get(first).manager().tell(Join.create(address));
        Cluster.get(second).manager().tell(Join.create(address));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
        while (System.nanoTime() < deadline) {
            boolean up = true;
            for (ActorSystem<?> node : List.of(first, second)) {
                var members = StreamSupport.stream(Cluster.get(node).state().getMembers().spliterator(), false).toList();
                up &= members.size() == 2 && members.stream().allMatch(m -> m.status() == MemberStatus.up());
            }
            if (up) {
                return;
            }
            Thread.sleep(CLUSTER_POLL_MILLIS);
        }
        throw new IllegalStateException("the two nodes did not form a cluster within " + WAIT_SECONDS + " s");
    }

    /** Nanoseconds to send {@code bytes} over a fresh loopback connection and read them into one array. */
    private static long socketTransfer(byte[] bytes) throws Exception {
        try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<Void> sent = CompletableFuture.runAsync(() -> {
                try (Socket s = listener.accept(); OutputStream out = s.getOutputStream()) {
                    out.write(bytes);
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            byte[] into = new byte[bytes.length];
            long t0 = System.nanoTime();
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), listener.getLocalPort()));
                InputStream in = s.getInputStream();
                int filled = 0;
                while (filled < into.length) {
                    int n = in.read(into, filled, into.length - filled);
                    if (n < 0) {
                        throw new IOException("socket closed after " + filled + " bytes");
                    }
                    filled += n;
                }
            }
            long t1 = System.nanoTime();
            sent.get(WAIT_SECONDS, TimeUnit.SECONDS);
            if (!Arrays.equals(into, bytes)) {
                throw new IllegalStateException("the socket baseline delivered other bytes");
            }
            return t1 - t0;
        }
    }

    private static long crc32c(byte[] bytes) {
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, bytes.length);
        return crc.getValue();
    }

    private static byte[] sha256(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static long timeNanos(Runnable work) {
        long t0 = System.nanoTime();
        work.run();
        return System.nanoTime() - t0;
    }

    private static double rate(long bytes, long nanos) {
        return bytes / MB / (nanos / 1e9);
    }

    private static double median(List<Double> values) {
        double[] sorted = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    private static void summary(ObjectNode node, List<Double> values) {
        node.put("min", values.stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN));
        node.put("median", median(values));
        node.put("max", values.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN));
    }

    private static void row(String name, List<Double> values) {
        System.out.printf("%-28s %10.0f %10.0f %10.0f%n", name, values.stream().mapToDouble(Double::doubleValue).min().orElse(0),
                median(values), values.stream().mapToDouble(Double::doubleValue).max().orElse(0));
    }
}
