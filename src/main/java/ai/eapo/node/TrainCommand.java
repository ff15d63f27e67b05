package ai.eapo.node;

import ai.eapo.UserInputException;
import ai.eapo.model.LoraConfig;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code train}: EAPO (or GRPO with {@code --grpo}) on the asynchronous actor pipeline: every role in this
 * JVM by default, or this node's roles of a cluster ({@code --role}, {@code --seed-nodes}). Settings come
 * from {@code conf/application.conf}, then {@code --config FILE}, then {@code --set KEY=VALUE}, then flags.
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Train on the actor pipeline (all roles in this JVM, or this node's roles of a cluster); "
                + "the learner's node writes results/<run-id>/ with metrics.jsonl, the effective config, plots, "
                + "learner checkpoints (a restart with the same --run-id resumes) and the final model.")
final class TrainCommand implements Callable<Integer> {

    @Mixin
    ConfigOptions configOptions;

    @Option(names = "--model", description = "Policy to train, a local HF directory (eapo.train.model).")
    String model;

    @Option(names = "--prior", description = "Frozen prior pi_RL, a local HF directory (eapo.train.prior).")
    String prior;

    @Option(names = "--grpo", description = "Plain GRPO: no prior, experience ratio 0.")
    boolean grpo;

    @Option(names = "--data", description = "Training problems, JSONL or verl-layout parquet (eapo.train.data).")
    String data;

    @Option(names = "--test", description = "Held-out problems, JSONL or parquet (eapo.train.test).")
    String test;

    @Option(names = "--steps", description = "Learner steps (eapo.train.steps).")
    Long steps;

    @Option(names = "--questions-per-step", description = "Groups per learner step (eapo.train.questions-per-step).")
    Integer questionsPerStep;

    @Option(names = "--seed", description = "Run seed (eapo.train.seed).")
    Long seed;

    @Option(names = "--eval-size", description = "Held-out problems evaluated before and after; 0 skips (eapo.train.eval-size).")
    Integer evalSize;

    @Option(names = "--eval-every", description = "Held-out evaluation every N learner steps, 0 = only before and after (eapo.train.eval-every).")
    Integer evalEvery;

    @Option(names = "--samplers", description = "Sampler actors (eapo.pipeline.samplers).")
    Integer samplers;

    @Option(names = "--max-staleness", description = "Versions samplers may run ahead (eapo.pipeline.max-staleness).")
    Integer maxStaleness;

    @Option(names = "--task", description = "math or countdown: the reward function (eapo.train.task).")
    String task;

    @Option(names = "--tau", description = "Entropy threshold, nats, or inf (eapo.algorithm.experience.entropy-threshold).")
    String tau;

    @Option(names = "--annealing-steps", description = "T (eapo.algorithm.experience.anneal-steps).")
    Long annealingSteps;

    @Option(names = "--lr", description = "Learning rate (eapo.algorithm.optimizer.lr).")
    Double learningRate;

    @Option(names = "--lora-rank", description = "Train LoRA adapters of this rank on a frozen base, 0 = full "
            + "fine-tuning (eapo.model.lora.rank).")
    Integer loraRank;

    @Option(names = "--device", description = "cpu or gpu:N (eapo.device).")
    String device;

    @Option(names = "--role", description = "learner, sampler, prior, verifier or all; repeat for several (eapo.node.roles).")
    List<String> roles;

    @Option(names = "--seed-nodes", split = ",", description = "host:port,... of cluster nodes to join (eapo.node.seed-nodes).")
    List<String> seedNodes;

    @Option(names = "--host", description = "Address other nodes reach this node at (eapo.node.hostname).")
    String host;

    @Option(names = "--port", description = "Pekko remoting port of this node, 0 for any free one (eapo.node.port).")
    Integer port;

    @Option(names = "--metrics-port", description = "Serve Prometheus /metrics on this port, 0 = off (eapo.node.metrics.port).")
    Integer metricsPort;

    @Option(names = "--tls", description = "Artery TLS between nodes (eapo.node.tls.enabled; key stores in the config).")
    boolean tls;

    @Option(names = "--run-id", description = "Name of the results directory (default: date, time and method).")
    String runId;

    @Option(names = "--results-dir", description = "Where run directories go (eapo.train.results-dir).")
    String resultsDir;

    @Override
    public Integer call() throws Exception {
        TrainingRun.run(config(), runId);
        return 0;
    }

    /** application.conf, overridden by --config, by --set, then by flags. */
    Config config() {
        Map<String, Object> flags = new LinkedHashMap<>();
        ConfigOptions.put(flags, "eapo.train.model", model);
        ConfigOptions.put(flags, "eapo.train.prior", prior);
        ConfigOptions.put(flags, "eapo.train.data", data);
        ConfigOptions.put(flags, "eapo.train.test", test);
        ConfigOptions.put(flags, "eapo.train.task", task);
        ConfigOptions.put(flags, "eapo.train.steps", steps);
        ConfigOptions.put(flags, "eapo.train.questions-per-step", questionsPerStep);
        ConfigOptions.put(flags, "eapo.train.seed", seed);
        ConfigOptions.put(flags, "eapo.train.eval-size", evalSize);
        ConfigOptions.put(flags, "eapo.train.eval-every", evalEvery);
        ConfigOptions.put(flags, "eapo.train.results-dir", resultsDir);
        ConfigOptions.put(flags, "eapo.pipeline.samplers", samplers);
        ConfigOptions.put(flags, "eapo.pipeline.max-staleness", maxStaleness);
        ConfigOptions.put(flags, "eapo.algorithm.experience.entropy-threshold", tau);
        ConfigOptions.put(flags, "eapo.algorithm.experience.anneal-steps", annealingSteps);
        ConfigOptions.put(flags, "eapo.algorithm.optimizer.lr", learningRate);
        ConfigOptions.put(flags, "eapo.device", device);
        ConfigOptions.put(flags, LoraConfig.KEY + ".rank", loraRank);
        ConfigOptions.put(flags, "eapo.node.port", port);
        ConfigOptions.put(flags, "eapo.node.metrics.port", metricsPort);
        ConfigOptions.put(flags, "eapo.node.hostname", host);
        ConfigOptions.put(flags, "eapo.node.roles", roles);
        ConfigOptions.put(flags, "eapo.node.seed-nodes", seedNodes);
        if (tls) {
            flags.put("eapo.node.tls.enabled", true);
        }
        if (grpo) {
            flags.put("eapo.algorithm.experience.initial-ratio", 0);
        }
        return configOptions.load(flags);
    }
}
