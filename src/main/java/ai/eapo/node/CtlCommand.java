package ai.eapo.node;

import ai.eapo.UserInputException;
import ai.eapo.actors.Learner;

import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.cluster.typed.Leave;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.TimeUnit;

/**
 * {@code ctl get} / {@code ctl set tau=1.5 annealing-steps=200}: reads or changes a running training's live
 * knobs. It joins the training node's cluster as a client (Pekko remoting, loopback by default), finds the
 * Learner through the receptionist, and prints the knobs in force, or the reason a change was refused.
 * {@code ctl watch} prints a node's {@code /metrics} ({@link NodeMetrics}) as a table line every second.
 */
@Command(name = "ctl", mixinStandardHelpOptions = true,
        description = "Read (get) or change (set name=value ...) the live knobs of a running training node, or "
                + "watch its live metrics (watch, from its eapo.node.metrics.port).")
final class CtlCommand implements Callable<Integer> {

    @Parameters(index = "0", description = "get | set | watch")
    String action;

    @Option(names = "--metrics", description = "watch: host:port of the node's /metrics (default: eapo.node.hostname:eapo.node.metrics.port).")
    String metrics;

    @Option(names = "--count", defaultValue = "0", description = "watch: lines to print, 0 = until the node stops (default: ${DEFAULT-VALUE}).")
    int count;

    @Option(names = "--every", defaultValue = "1", description = "watch: seconds between lines (default: ${DEFAULT-VALUE}).")
    double everySeconds;

    @Parameters(index = "1..*", arity = "0..*", description = "name=value, for set: tau, annealing-steps, initial-ratio, lr, max-staleness")
    List<String> assignments = List.of();

    @Option(names = "--node", description = "host:port of the training node (default: eapo.node.hostname:eapo.node.port).")
    String node;

    @Option(names = "--config", description = "HOCON file overriding conf/application.conf (e.g. the cluster's TLS settings).")
    java.nio.file.Path configFile;

    @Option(names = "--timeout", defaultValue = "30", description = "Seconds to wait for the node (default: ${DEFAULT-VALUE}).")
    int timeoutSeconds;

    @Override
    public Integer call() throws Exception {
        Config defaults = ConfigOptions.load(Map.of(), List.of(), configFile);
        if (action.equals("watch")) {
            String from = metrics != null ? metrics : defaults.getString("eapo.node.hostname") + ":"
                    + defaults.getInt("eapo.node.metrics.port");
            if (from.endsWith(":0")) {
                throw new UserInputException("ctl watch: the node serves no metrics (eapo.node.metrics.port = 0); "
                        + "start it with --metrics-port N and watch with --metrics host:N");
            }
            return new MetricsWatch(java.net.URI.create("http://" + from + NodeMetrics.PATH),
                    Duration.ofMillis(Math.round(everySeconds * 1000)), Duration.ofSeconds(timeoutSeconds))
                    .print(count, System.out);
        }
        Map<String, String> changes = parse();
        String target = node != null ? node
                : defaults.getString("eapo.node.hostname") + ":" + defaults.getInt("eapo.node.port");
        String[] hostPort = target.split(":");
        if (hostPort.length != 2) {
            throw new UserInputException("--node " + target + ": expected host:port");
        }
        // A client of the cluster on any free port; it never hosts actors of the run.
        Config client = ConfigFactory.parseMap(Map.of("pekko.remote.artery.canonical.port", 0,
                "pekko.remote.artery.canonical.hostname", defaults.getString("eapo.node.hostname"),
                "pekko.cluster.roles", List.of("ctl"))).withFallback(defaults);
        ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), ClusterSettings.SYSTEM_NAME,
                ArteryTls.apply(client));
        Duration timeout = Duration.ofSeconds(timeoutSeconds);
        try {
            return talk(system, hostPort, changes, timeout);
        } catch (TimeoutException | ExecutionException e) {
            throw new UserInputException("no answer from a training node at " + target + " within " + timeoutSeconds
                    + " s (is `eapo-node train` running there? see --node)");
        } finally {
            system.terminate();
            system.getWhenTerminated().toCompletableFuture().get(timeoutSeconds, TimeUnit.SECONDS);
        }
    }

    private int talk(ActorSystem<Void> system, String[] hostPort, Map<String, String> changes, Duration timeout)
            throws Exception {
        Cluster cluster = Cluster.get(system);
        cluster.manager().tell(Join.create(new org.apache.pekko.actor.Address("pekko", ClusterSettings.SYSTEM_NAME, hostPort[0],
                Integer.parseInt(hostPort[1]))));
        ActorRef<Learner.Command> learner = findLearner(system, timeout);
        CompletionStage<Learner.KnobsReply> reply = AskPattern.ask(learner,
                replyTo -> action.equals("get") ? new Learner.GetKnobs(replyTo) : new Learner.SetKnobs(changes, replyTo),
                timeout, system.scheduler());
        Learner.KnobsReply answer = reply.toCompletableFuture().get(timeout.toSeconds(), TimeUnit.SECONDS);
        cluster.manager().tell(Leave.create(cluster.selfMember().address()));
        if (answer.refusal() != null) {
            System.out.println("refused: " + answer.refusal());
            System.out.println("knobs unchanged: " + answer.knobs());
            return EapoNode.EXIT_BAD_INPUT;
        }
        System.out.println((action.equals("set") ? "applied from step " + (answer.effectiveStep() + 1) + ": " : "")
                + answer.knobs());
        return 0;
    }

    private Map<String, String> parse() {
        if (!action.equals("get") && !action.equals("set")) {
            throw new UserInputException("ctl " + action + ": the actions are get, set and watch");
        }
        if (action.equals("set") && assignments.isEmpty()) {
            throw new UserInputException("ctl set needs name=value arguments, e.g. tau=1.5");
        }
        Map<String, String> changes = new LinkedHashMap<>();
        for (String a : assignments) {
            int eq = a.indexOf('=');
            if (eq <= 0) {
                throw new UserInputException("ctl set " + a + ": expected name=value");
            }
            changes.put(a.substring(0, eq).strip(), a.substring(eq + 1).strip());
        }
        return changes;
    }

    /** Polls the receptionist until the Learner of the joined cluster shows up. */
    private static ActorRef<Learner.Command> findLearner(ActorSystem<Void> system, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            Receptionist.Listing listing = AskPattern.<Receptionist.Command, Receptionist.Listing>ask(system.receptionist(),
                    replyTo -> Receptionist.find(Learner.SERVICE_KEY, replyTo), timeout, system.scheduler())
                    .toCompletableFuture().get();
            Set<ActorRef<Learner.Command>> learners = listing.getServiceInstances(Learner.SERVICE_KEY);
            if (!learners.isEmpty()) {
                return learners.iterator().next();
            }
            Thread.sleep(200);
        }
        throw new UserInputException("no training node answered at the given address within " + timeout.toSeconds()
                + " s (is `eapo-node train` running? see --node)");
    }
}
