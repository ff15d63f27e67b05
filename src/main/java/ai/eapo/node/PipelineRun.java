package ai.eapo.node;

import ai.djl.Device;
import ai.eapo.UserInputException;
import ai.eapo.actors.PipelineActivity;
import ai.eapo.actors.Learner;
import ai.eapo.actors.NodeGuardian;
import ai.eapo.actors.Pipeline;
import ai.eapo.actors.Sampler;
import ai.eapo.algorithm.HyperParameters;
import ai.eapo.data.DataFormat;
import ai.eapo.data.ProblemSet;
import ai.eapo.model.Checkpoint;
import ai.eapo.model.InferencePrecision;
import ai.eapo.model.LocalPrior;
import ai.eapo.model.ModelConfig;
import ai.eapo.model.OpenMpWaitPolicy;
import ai.eapo.model.PolicyModel;
import ai.eapo.model.CheckpointIdentity;
import ai.eapo.model.LoraAdapters;
import ai.eapo.model.LoraConfig;
import ai.eapo.model.PolicyTokenizer;
import ai.eapo.model.TokenizerVocabulary;
import ai.eapo.training.HeldOutEvaluation;
import ai.eapo.training.Knobs;
import ai.eapo.training.LearnerStep;
import ai.eapo.training.MemoryBudget;
import ai.eapo.training.MemoryLimit;
import ai.eapo.training.MicroBatching;
import ai.eapo.training.StepMetrics;
import ai.eapo.training.SynchronousTrainer;
import ai.eapo.training.TaskPrompts;
import ai.eapo.verify.AnswerChecker;

import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import com.typesafe.config.Config;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * The models, data and settings one node of a run needs for its roles, as the configuration names them,
 * and the actor system that runs those roles. With every role (the default) the whole pipeline runs in this
 * JVM as a one-node cluster, which {@code ctl} and extra sampler nodes can join. Closing it frees every model.
 */
final class PipelineRun implements AutoCloseable {

    /** What running the pipeline took: wall time, and the busy share of each kind of actor. */
    record Outcome(double seconds, Map<String, Double> busyShares) {
    }

    final Config config;
    final ClusterSettings cluster;
    final HyperParameters hyper;
    final boolean experience;
    final long steps;
    final int questionsPerStep;
    final Path modelDir;
    /** The trainable policy on the learner's node; on a sampler-only node, the first sampler's replica. */
    final PolicyModel policy;
    final TaskPrompts prompts;
    final AnswerChecker verifier;
    final List<ProblemSet.Problem> test;
    /** The learner's optimizer and knobs; null without the learner role. */
    final LearnerStep learner;
    /** What this node's configuration needs in memory, checked against the limit before any weight was loaded. */
    final MemoryBudget budget;
    private final PolicyTokenizer tokenizer;
    private final PolicyModel priorModel;
    /** The LoRA adapters the policy trains, or null for full-parameter training. */
    private final LoraConfig lora;
    /** With LoRA, which checkpoint the frozen base is (compared with other nodes'); else null. */
    private final CheckpointIdentity baseIdentity;
    /** The dtype of every weight nothing trains here: a LoRA base, sampler replicas, the prior, the reference. */
    private final InferencePrecision precision;
    /** The prior's tokenizer ids; null on a node without the prior or for plain GRPO. */
    private final TokenizerVocabulary priorVocabulary;
    /** The frozen π_ref of the KL penalty, or null when no step uses one. */
    private final PolicyModel reference;
    private final LocalPrior prior;
    private final List<ProblemSet.Problem> data;
    private final SynchronousTrainer.Options rollout;
    /** The learner's micro-batching: the configured one, recomputing layers where auto needs it to fit. */
    private final MicroBatching microBatching;
    private final int samplers;
    private final Knobs knobs;

    PipelineRun(Config config) {
        this(config, true);
    }

    /**
     * The budget of the node {@code config} describes, computed as a run computes it at start-up (shapes,
     * tokenizer, data), without loading weights or checking it against the limit: {@code bench memory --budget-only}.
     */
    static MemoryBudget budgetOf(Config config) {
        try (PipelineRun plan = new PipelineRun(config, false)) {
            return plan.budget;
        }
    }

    /** {@code loadModels}: false only for {@link #budgetOf}, which stops before the limit check and the weights. */
    private PipelineRun(Config config, boolean loadModels) {
        this.config = config;
        cluster = ClusterSettings.of(config);
        if (loadModels) {
            String key = "eapo.node.openmp-wait-policy";
            OpenMpWaitPolicy.Setting waitPolicy;
            try {
                waitPolicy = OpenMpWaitPolicy.Setting.parse(config.getString(key), key);
            } catch (IllegalArgumentException e) {
                throw new UserInputException(e.getMessage());
            }
            OpenMpWaitPolicy.apply(waitPolicy.policyFor(cluster.computingRoles()));
        }
        try {
            hyper = HyperParameters.fromConfig(config);
        } catch (IllegalArgumentException e) {
            throw new UserInputException(e.getMessage());
        }
        Config train = config.getConfig("eapo.train");
        boolean learns = cluster.has(Pipeline.Role.LEARNER);
        boolean samples = cluster.has(Pipeline.Role.SAMPLER);
        experience = hyper.usesExperience();
        steps = positive(config, "eapo.train.steps");
        questionsPerStep = (int) positive(config, "eapo.train.questions-per-step");
        samplers = (int) positive(config, "eapo.pipeline.samplers");
        modelDir = Path.of(train.getString("model"));
        DataFormat format = DataFormat.fromConfig(config);
        data = learns ? ProblemSet.read(Path.of(train.getString("data")), format) : List.of();
        List<ProblemSet.Problem> heldOut = learns ? ProblemSet.read(Path.of(train.getString("test")), format) : List.of();
        test = heldOut.subList(0, Math.min(heldOut.size(), train.getInt("eval-size")));
        rollout = TrainingOptions.rolloutOptions(config, train.getLong("seed"));
        try {
            hyper.strategies().overlong().requireFits(rollout.maxNewTokens());
        } catch (IllegalArgumentException e) {
            throw new UserInputException(e.getMessage());
        }
        verifier = answerChecker(config);
        knobs = Knobs.initial(hyper, config.getInt("eapo.pipeline.max-staleness"));
        boolean needsPolicy = learns || samples;
        Device device = Checkpoint.device(config.getString("eapo.device"));
        precision = InferencePrecision.fromConfig(config, device);
        ModelConfig policyShape = needsPolicy ? ModelConfig.read(modelDir) : null;
        // The adapters trained: an adapter directory's own, else eapo.model.lora (null: full fine-tuning).
        lora = LoraAdapters.isAdapter(modelDir) ? LoraAdapters.readConfig(modelDir) : LoraConfig.fromConfig(config);
        baseIdentity = lora != null && needsPolicy ? CheckpointIdentity.of(LoraAdapters.baseUnder(modelDir)) : null;
        Path priorDir = experience && cluster.has(Pipeline.Role.PRIOR) ? Path.of(train.getString("prior")) : null;
        // The tokenizer first: the budget needs the longest prompt, and a refused start loads no weights.
        tokenizer = needsPolicy ? PolicyTokenizer.load(modelDir, policyShape) : null;
        prompts = tokenizer == null ? null : TrainingOptions.prompts(config, tokenizer);
        try {
            // A prior of another tokenizer is refused before any weight is read; on a node without the policy,
            // the samplers' consultations carry its tokenizer to the prior (PriorPolicy).
            priorVocabulary = priorDir == null ? null : TokenizerVocabulary.read(priorDir);
            if (tokenizer != null && priorVocabulary != null) {
                tokenizer.vocabulary().requirePriorMatches(priorVocabulary);
            }
            ModelConfig priorShape = priorDir == null ? null : ModelConfig.read(priorDir);
            MemoryLimit limit = MemoryLimit.fromConfig(config, device);
            MicroBatching micro = rollout.microBatching();
            MemoryBudget planned = MemoryBudget.of(budgetSettings(config, policyShape, priorShape, learns, samples, micro));
            if (learns && !micro.recomputeLayers() && MicroBatching.recomputeIsAuto(config) && !limit.fits(planned)) {
                MemoryBudget recomputing = MemoryBudget.of(budgetSettings(config, policyShape, priorShape, learns,
                        samples, micro.recomputingLayers()));
                if (limit.fits(recomputing)) {
                    System.out.printf("recomputing layers in the learner's backward pass (%s = auto): the budget is "
                                    + "%s with them, %s without, and %s allows %s%n", MicroBatching.KEY_RECOMPUTE,
                            MemoryBudget.gib(recomputing.total()), MemoryBudget.gib(planned.total()), limit.source(),
                            MemoryBudget.gib(limit.bytes()));
                    micro = micro.recomputingLayers();
                    planned = recomputing;
                }
            }
            microBatching = micro;
            budget = planned;
            if (loadModels) {
                limit.requireFits(budget);
            }
        } catch (RuntimeException e) {
            if (tokenizer != null) {
                tokenizer.close();
            }
            throw e;
        }
        PolicyModel loaded = null;
        PolicyModel p = null;
        try {
            // A node that only samples never trains its policy: without LoRA it is a replica like any other.
            loaded = !needsPolicy || !loadModels ? null : learns || lora != null
                    ? Checkpoint.loadForTraining(modelDir, device, tokenizer.vocabulary(), lora, train.getLong("seed"),
                            precision)
                    : Checkpoint.load(modelDir, device, tokenizer.vocabulary(), precision);
            if (priorDir != null && loadModels) {
                // A prior that is the adapted policy's base shares its memory instead of loading it again.
                p = loaded != null && loaded.lora() != null && samePath(priorDir, LoraAdapters.baseUnder(modelDir))
                        ? loaded.frozenBaseView() : Checkpoint.load(priorDir, device, priorVocabulary, precision);
            }
        } catch (RuntimeException e) {
            if (loaded != null) {
                loaded.close();
            }
            if (tokenizer != null) {
                tokenizer.close();
            }
            throw e;
        }
        policy = loaded;
        priorModel = p;
        prior = priorModel == null ? null
                : new LocalPrior(priorModel, rollout.sampling(), config.getBoolean("eapo.pipeline.prior-kv-cache"));
        // The KL reference is the policy as loaded, before any step (a resumed run restores its weights later).
        reference = learns && loadModels && hyper.needsReference() ? policy.replica(precision) : null;
        learner = learns && loadModels ? new LearnerStep(policy, reference, hyper, knobs, microBatching,
                rollout.sampling().logProbTemperature()) : null;
    }

    private static boolean samePath(Path a, Path b) {
        return a.toAbsolutePath().normalize().equals(b.toAbsolutePath().normalize());
    }

    /**
     * The sizes this node's memory budget depends on: its roles, the shapes, the batch and sequence lengths (the
     * longest prompt of the data, or {@code eapo.memory.prompt-tokens-without-data} on a node that reads none).
     */
    private MemoryBudget.Settings budgetSettings(Config config, ModelConfig policyShape, ModelConfig priorShape,
                                                 boolean learns, boolean samples, MicroBatching micro) {
        int longestPrompt = data.isEmpty() ? config.getInt("eapo.memory.prompt-tokens-without-data")
                : java.util.stream.Stream.concat(data.stream(), test.stream())
                        .mapToInt(problem -> prompts.prompt(problem).length).max().orElseThrow();
        if (learns && longestPrompt + rollout.maxNewTokens() > micro.tokens()) {
            throw new UserInputException(MicroBatching.KEY_TOKENS + " = " + micro.tokens() + " is "
                    + "less than one sequence: the longest prompt (" + longestPrompt + " tokens) + max-new-tokens ("
                    + rollout.maxNewTokens() + "); raise it to at least " + (longestPrompt + rollout.maxNewTokens()));
        }
        return new MemoryBudget.Settings(policyShape, priorShape, learns, learns && hyper.needsReference(),
                samples ? samplers : 0, rollout.decodeBatchSize(), longestPrompt, rollout.maxNewTokens(),
                config.getInt("eapo.pipeline.max-sequences-in-flight"), micro,
                learns && !test.isEmpty(), learns && !samples, config.getBytes("eapo.memory.runtime-overhead"),
                lora, lora != null && priorShape != null && samePath(Path.of(config.getString("eapo.train.prior")),
                        LoraAdapters.baseUnder(modelDir)), precision);
    }

    /** Greedy accuracy of the policy (as trained so far) on the held-out problems, overall (NaN when eval-size is 0) and by level. */
    HeldOutEvaluation.Score heldOutScore() {
        return HeldOutEvaluation.score(policy, prompts, verifier, test, rollout.maxNewTokens(), rollout.decodeBatchSize());
    }

    /**
     * Runs this node's roles until the run is over: on the learner's node until its last step (then the
     * other nodes are told), elsewhere until the learner's node says the run finished. Training starts (or
     * resumes) at {@code firstStep}; throws if the learner failed.
     */
    Outcome run(long firstStep, Learner.Listener listener) throws Exception {
        Config pipeline = config.getConfig("eapo.pipeline");
        List<PolicyModel> replicas = new ArrayList<>();
        PipelineActivity activity = new PipelineActivity();
        CompletableFuture<Void> done = new CompletableFuture<>();
        long start = System.nanoTime();
        boolean learns = cluster.has(Pipeline.Role.LEARNER);
        try (NodeMetrics metrics = NodeMetrics.start(config, activity)) {
            if (cluster.has(Pipeline.Role.SAMPLER)) {
                // The learner's policy trains in place, so every sampler gets a copy; a sampler-only node's
                // policy is nobody else's and serves as its first replica.
                for (int i = 0; i < samplers; i++) {
                    replicas.add(i == 0 && !learns ? policy : policy.replica(precision));
                }
            }
            Pipeline.Setup setup = new Pipeline.Setup(cluster.roles(),
                    !learns ? Optional.empty() : Optional.of(new Pipeline.LearnerPart(policy, learner, firstStep, steps,
                            data, questionsPerStep, rollout.seed(), rollout.sampling(), baseIdentity,
                            rollout.maxNewTokens(), new FinishingListener(listener, metrics::record, done))),
                    !cluster.has(Pipeline.Role.SAMPLER) ? Optional.empty() : Optional.of(new Pipeline.SamplerPart(
                            replicas, prompts, new Sampler.Settings(hyper.groupSize(), rollout.maxNewTokens(),
                            rollout.sampling(), rollout.decodeBatchSize(), pipeline.getInt("max-sequences-in-flight"),
                            rollout.seed(), pipeline.getDuration("retry-after"), baseIdentity), experience)),
                    prior == null ? Optional.empty()
                            : Optional.of(new Pipeline.PriorPart(prior, priorVocabulary, rollout.sampling())),
                    !cluster.has(Pipeline.Role.VERIFIER) ? Optional.empty()
                            : Optional.of(new Pipeline.VerifierPart(verifier, pipeline.getInt("verifiers"))),
                    activity);
            ActorSystem<NodeGuardian.Command> system;
            try {
                system = ActorSystem.create(NodeGuardian.create(setup, done),
                        ClusterSettings.SYSTEM_NAME, cluster.pekkoConfig(config));
            } catch (org.apache.pekko.remote.RemoteTransportException e) {
                throw new UserInputException("cannot listen on " + config.getString("eapo.node.hostname") + ":"
                        + config.getInt("eapo.node.port") + " (is another node running there?); "
                        + "choose another with --port N, or --port 0 for any free port: " + e.getMessage());
            }
            // A node that leaves the cluster before the run is over (downed by the split-brain resolver, say)
            // stops with an error instead of waiting for ever; a supervisor may start it again.
            system.getWhenTerminated().thenRun(() -> done.completeExceptionally(new IllegalStateException(
                    "this node left the cluster before the run finished (see the log above)")));
            metrics.watch(system);
            try {
                Cluster node = Cluster.get(system);
                org.apache.pekko.cluster.Cluster.get(system.classicSystem()).registerOnMemberUp(() ->
                        System.out.printf("this node joined the cluster as %s%n", cluster.describeRoles()));
                if (cluster.joinsItself()) {
                    node.manager().tell(Join.create(node.selfMember().address()));
                }
                System.out.printf("%s node (%s) at %s%s%n", experience ? "EAPO" : "GRPO", cluster.describeRoles(),
                        node.selfMember().address(), cluster.joinsItself() ? " (eapo-node ctl and other nodes join here)"
                                : ", joining " + cluster.seedNodes());
                done.get();
                if (learns) {
                    system.tell(new NodeGuardian.AnnounceFinished(steps));
                    // Let the announcement reach the other nodes before this one leaves the cluster.
                    Thread.sleep(config.getDuration("eapo.node.finish-announcement").toMillis());
                }
            } catch (ExecutionException e) {
                if (e.getCause() instanceof UserInputException refused) {
                    throw refused; // a configuration the run refused: the user's to fix, said as it was
                }
                throw new IllegalStateException(e.getCause().getMessage(), e.getCause());
            } finally {
                system.terminate();
                system.getWhenTerminated().toCompletableFuture().get(1, TimeUnit.MINUTES);
            }
        } finally {
            replicas.stream().filter(r -> r != policy).forEach(PolicyModel::close);
        }
        long wall = System.nanoTime() - start;
        return new Outcome(wall / 1e9, activity.shares(wall));
    }

    @Override
    public void close() {
        if (learner != null) {
            learner.close();
        }
        if (reference != null) {
            reference.close();
        }
        if (prior != null) {
            prior.close();
            priorModel.close();
        }
        if (tokenizer != null) {
            tokenizer.close();
        }
        if (policy != null) {
            policy.close();
        }
    }

    /** The configured task's reward function ({@code eapo.train.task}); a bad name is the user's error. */
    static AnswerChecker answerChecker(Config config) {
        try {
            return AnswerChecker.fromConfig(config);
        } catch (IllegalArgumentException e) {
            throw new UserInputException(e.getMessage());
        }
    }

    private static long positive(Config config, String key) {
        long value = config.getLong(key);
        if (value < 1) {
            throw new UserInputException(key + " = " + value + ": must be >= 1");
        }
        return value;
    }

    /** Passes everything on, shows each step to {@code observer}, and completes {@code done} after the last step. */
    private record FinishingListener(Learner.Listener next, java.util.function.Consumer<StepMetrics> observer,
                                     CompletableFuture<Void> done) implements Learner.Listener {
        @Override
        public void onStep(StepMetrics metrics) {
            observer.accept(metrics);
            next.onStep(metrics);
        }

        @Override
        public void onKnobsChanged(long effectiveStep, Knobs knobs) {
            next.onKnobsChanged(effectiveStep, knobs);
        }

        @Override
        public void onFinished() {
            next.onFinished();
            done.complete(null);
        }
    }
}
