package ai.eapo.node;

import ai.eapo.UserInputException;
import ai.eapo.actors.PipelineActivity;
import ai.eapo.actors.Pipeline;
import ai.eapo.model.NativeMemory;
import ai.eapo.training.StepMetrics;

import com.sun.net.httpserver.HttpServer;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.ToDoubleFunction;
import java.util.stream.StreamSupport;

/**
 * A node's live metrics in Prometheus text format at {@code http://host:eapo.node.metrics.port/metrics}
 * (0 = off), through Micrometer's Prometheus registry: the learner's step, weight version, throughput and
 * staleness (on the learner's node), the busy share of each kind of actor, the queue depths (questions waiting
 * and outstanding, responses awaiting rewards, prior consultations in flight), weight-transfer bytes and failures,
 * resident memory and the JVM's heap, GC and threads, and the cluster's members by role. {@code eapo-node ctl watch} reads the same page.
 */
final class NodeMetrics implements AutoCloseable {

    static final String PATH = "/metrics";
    private static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    /** Null when the metrics are off: nothing is measured (Micrometer's classes are not even loaded). */
    private final PrometheusMeterRegistry registry;
    private final AtomicReference<StepMetrics> lastStep = new AtomicReference<>();
    private final AtomicReference<ActorSystem<?>> system = new AtomicReference<>();
    private final HttpServer server;
    private final PipelineActivity activity;
    private final long started = System.nanoTime();

    private NodeMetrics(HttpServer server, PipelineActivity activity) {
        this.server = server;
        this.activity = activity;
        this.registry = server == null ? null : new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    }

    /** Serves this node's metrics when {@code eapo.node.metrics.port} is not 0; else measures nothing. */
    static NodeMetrics start(com.typesafe.config.Config config, PipelineActivity activity) {
        int port = config.getInt("eapo.node.metrics.port");
        if (port < 0 || port > 65535) {
            throw new UserInputException("eapo.node.metrics.port = " + port + ": use 0 (off) or a port 1-65535");
        }
        HttpServer server = null;
        String host = host(config);
        if (port > 0) {
            try {
                server = HttpServer.create(new InetSocketAddress(host, port), 0);
            } catch (IOException e) {
                throw new UserInputException("eapo.node.metrics.port = " + port + ": cannot listen on " + host + ":"
                        + port + " (" + e.getMessage() + ")");
            }
        }
        NodeMetrics metrics = new NodeMetrics(server, activity);
        if (server != null) {
            metrics.bind();
            server.createContext(PATH, exchange -> {
                byte[] body = metrics.scrape().getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().set("Content-Type", CONTENT_TYPE);
                exchange.sendResponseHeaders(200, body.length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(body);
                }
            });
            server.setExecutor(null); // the server's own thread: a scrape never waits on the actors
            server.start();
            System.out.printf("metrics at http://%s:%d%s%n", host, port, PATH);
        }
        return metrics;
    }

    /** {@code eapo.node.metrics.hostname}, or the node's own hostname when that is empty. */
    private static String host(com.typesafe.config.Config config) {
        String host = config.getString("eapo.node.metrics.hostname");
        return host.isBlank() ? config.getString("eapo.node.hostname") : host;
    }

    private void bind() {
        new JvmMemoryMetrics().bindTo(registry);
        new JvmGcMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        Gauge.builder("eapo.resident.memory", () -> NativeMemory.residentBytes().orElse(-1L))
                .description("Resident set of this process (heap, libtorch's native memory, everything)")
                .baseUnit("bytes").register(registry);
        Gauge.builder("eapo.resident.memory.peak", () -> NativeMemory.peakResidentBytes().orElse(-1L))
                .description("Peak resident set of this process").baseUnit("bytes").register(registry);
        learnerGauge("eapo.learner.step", "Learner steps done", m -> m.step() + 1);
        learnerGauge("eapo.weight.version", "Weight version the learner published last", StepMetrics::weightVersion);
        learnerGauge("eapo.tokens.per.second", "Generated tokens per second in the last learner step",
                StepMetrics::tokensPerS);
        learnerGauge("eapo.staleness.mean", "Mean versions behind of the last step's responses",
                StepMetrics::stalenessMean);
        learnerGauge("eapo.reward.mean", "Mean reward of the last step", StepMetrics::rewardMean);
        learnerGauge("eapo.resampled.ratio", "Share of experience-response tokens drawn from the prior",
                StepMetrics::resampledRatio);
        learnerGauge("eapo.experience.ratio", "Experience ratio alpha of the last step", StepMetrics::alpha);
        Gauge.builder("eapo.questions.waiting", activity, PipelineActivity::questionsWaiting)
                .description("Questions the PromptSource holds ready for samplers (learner's node)").register(registry);
        Gauge.builder("eapo.questions.outstanding", activity, PipelineActivity::questionsOutstanding)
                .description("Questions handed to samplers whose groups are not complete (learner's node)")
                .register(registry);
        Gauge.builder("eapo.responses.awaiting.rewards", activity, PipelineActivity::responsesAwaitingRewards)
                .description("Responses this node's samplers sent to verifiers and have no reward for yet")
                .register(registry);
        Gauge.builder("eapo.prior.consultations.in.flight", activity, PipelineActivity::consultationsInFlight)
                .description("Prior consultations this node's samplers sent and have no answer to yet")
                .register(registry);
        FunctionCounter.builder("eapo.weight.transfer", activity, PipelineActivity::weightBytes)
                .description("Verified weight bytes streamed to this node's samplers").baseUnit("bytes")
                .register(registry);
        FunctionCounter.builder("eapo.weight.transfer.failures", activity, PipelineActivity::weightFailures)
                .description("Weight transfer attempts that failed and were retried").register(registry);
        for (Pipeline.Role role : Pipeline.Role.values()) {
            String name = role.configName();
            Gauge.builder("eapo.cluster.members", () -> membersUp(name))
                    .description("Cluster members that are up, by role").tag("role", name).register(registry);
        }
    }

    private void learnerGauge(String name, String description, ToDoubleFunction<StepMetrics> value) {
        Gauge.builder(name, lastStep, last -> last.get() == null ? Double.NaN : value.applyAsDouble(last.get()))
                .description(description).register(registry);
    }

    private double membersUp(String role) {
        ActorSystem<?> running = system.get();
        if (running == null) {
            return Double.NaN;
        }
        return StreamSupport.stream(Cluster.get(running).state().getMembers().spliterator(), false)
                .filter(m -> m.status() == MemberStatus.up() && m.hasRole(role)).count();
    }

    /** Counts the cluster's members from now on. */
    void watch(ActorSystem<?> running) {
        system.set(running);
    }

    /** The learner's latest step, for the gauges. */
    void record(StepMetrics metrics) {
        lastStep.set(metrics);
    }

    /** The page {@code /metrics} serves. */
    String scrape() {
        // Actor kinds appear as their actors start; registering an existing gauge again returns it.
        for (String kind : activity.kinds()) {
            Gauge.builder("eapo.actor.busy.share", () -> activity.shares(System.nanoTime() - started)
                            .getOrDefault(kind, 0.0))
                    .description("Share of the wall time since the node started that an actor of this kind worked")
                    .tag("kind", kind).register(registry);
        }
        return registry.scrape();
    }

    @Override
    public void close() {
        if (server != null) {
            server.stop(0);
            registry.close();
        }
    }
}
