package ai.eapo.node;

import ai.eapo.UserInputException;
import ai.eapo.actors.BusyTime;
import ai.eapo.actors.Learner;
import ai.eapo.actors.Pipeline;
import ai.eapo.actors.Sampler;
import ai.eapo.algorithm.HyperParameters;
import ai.eapo.data.ProblemSet;
import ai.eapo.model.Checkpoint;
import ai.eapo.model.LocalPrior;
import ai.eapo.model.PolicyModel;
import ai.eapo.model.PolicyTokenizer;
import ai.eapo.training.HeldOutEvaluation;
import ai.eapo.training.Knobs;
import ai.eapo.training.LearnerStep;
import ai.eapo.training.SynchronousTrainer;
import ai.eapo.training.TaskPrompts;
import ai.eapo.verify.MathVerifier;
import ai.eapo.verify.VerifierOptions;

import akka.actor.typed.ActorSystem;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Join;
import com.typesafe.config.Config;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * The models, data and settings of one training run as the configuration names them, and the actor system
 * that trains on them in this JVM (a one-node cluster, so {@code ctl} can reach its learner). Closing it
 * frees every model.
 */
final class PipelineRun implements AutoCloseable {

    /** What running the pipeline took: wall time, and the busy share of each kind of actor. */
    record Outcome(double seconds, Map<String, Double> busyShares) {
    }

    final Config config;
    final HyperParameters hyper;
    final boolean experience;
    final long steps;
    final int questionsPerStep;
    final Path modelDir;
    final PolicyModel policy;
    final TaskPrompts prompts;
    final MathVerifier verifier;
    final List<ProblemSet.Problem> test;
    private final PolicyTokenizer tokenizer;
    private final PolicyModel priorModel;
    private final LocalPrior prior;
    private final LearnerStep learner;
    private final List<ProblemSet.Problem> data;
    private final SynchronousTrainer.Options rollout;
    private final int samplers;

    PipelineRun(Config config) {
        this.config = config;
        try {
            hyper = HyperParameters.fromConfig(config);
        } catch (IllegalArgumentException e) {
            throw new UserInputException(e.getMessage());
        }
        Config train = config.getConfig("eapo.train");
        experience = hyper.schedule().initialRatio() > 0;
        steps = positive(config, "eapo.train.steps");
        questionsPerStep = (int) positive(config, "eapo.train.questions-per-step");
        samplers = (int) positive(config, "eapo.pipeline.samplers");
        modelDir = Path.of(train.getString("model"));
        data = ProblemSet.read(Path.of(train.getString("data")));
        List<ProblemSet.Problem> heldOut = ProblemSet.read(Path.of(train.getString("test")));
        test = heldOut.subList(0, Math.min(heldOut.size(), train.getInt("eval-size")));
        rollout = TrainingOptions.rolloutOptions(config, train.getLong("seed"));
        verifier = new MathVerifier(VerifierOptions.fromConfig(config));
        policy = Checkpoint.load(modelDir, Checkpoint.device(config.getString("eapo.device")));
        PolicyTokenizer t = null;
        PolicyModel p = null;
        try {
            t = PolicyTokenizer.load(modelDir, policy.config());
            p = experience ? Checkpoint.load(Path.of(train.getString("prior")), policy.device()) : null;
        } catch (RuntimeException e) {
            policy.close();
            if (t != null) {
                t.close();
            }
            throw e;
        }
        tokenizer = t;
        priorModel = p;
        prior = priorModel == null ? null : new LocalPrior(priorModel, rollout.sampling());
        prompts = TrainingOptions.prompts(config, tokenizer);
        learner = new LearnerStep(policy, hyper, Knobs.initial(hyper, config.getInt("eapo.pipeline.max-staleness")),
                rollout.microBatchSize(), rollout.sampling().logProbTemperature());
    }

    /** Greedy accuracy of the policy (as trained so far) on the held-out problems; NaN when eval-size is 0. */
    double heldOutAccuracy() {
        return HeldOutEvaluation.accuracy(policy, prompts, verifier, test, rollout.maxNewTokens(),
                rollout.decodeBatchSize());
    }

    /** Runs every actor of the pipeline in this JVM until the learner's last step; throws if the learner failed. */
    Outcome train(Learner.Listener listener) throws Exception {
        Config pipeline = config.getConfig("eapo.pipeline");
        List<PolicyModel> replicas = new ArrayList<>();
        BusyTime busy = new BusyTime();
        CompletableFuture<Void> finished = new CompletableFuture<>();
        long start = System.nanoTime();
        try {
            for (int i = 0; i < samplers; i++) {
                replicas.add(policy.replica());
            }
            Pipeline.Setup setup = new Pipeline.Setup(policy, learner, replicas, prior, prompts, verifier,
                    pipeline.getInt("verifiers"), data, questionsPerStep, steps,
                    new Sampler.Settings(hyper.groupSize(), rollout.maxNewTokens(), rollout.sampling(),
                            rollout.decodeBatchSize(), pipeline.getInt("max-sequences-in-flight"), rollout.seed(), hyper),
                    new FinishingListener(listener, finished), busy);
            ActorSystem<Void> system;
            try {
                system = ActorSystem.create(Pipeline.guardian(setup, new CompletableFuture<>(), finished), "eapo", config);
            } catch (akka.remote.RemoteTransportException e) {
                throw new UserInputException("cannot listen on " + config.getString("eapo.node.hostname") + ":"
                        + config.getInt("eapo.node.port") + " (is another training node running there?); "
                        + "choose another with --port N, or --port 0 for any free port: " + e.getMessage());
            }
            try {
                Cluster cluster = Cluster.get(system);
                cluster.manager().tell(Join.create(cluster.selfMember().address()));
                System.out.printf("%s: %d steps of %d questions x %d responses; this node is %s (eapo-node ctl connects here)%n",
                        experience ? "EAPO" : "GRPO", steps, questionsPerStep, hyper.groupSize(), cluster.selfMember().address());
                finished.get();
            } catch (ExecutionException e) {
                throw new IllegalStateException(e.getCause().getMessage(), e.getCause());
            } finally {
                system.terminate();
                system.getWhenTerminated().toCompletableFuture().get(1, TimeUnit.MINUTES);
            }
        } finally {
            replicas.forEach(PolicyModel::close);
        }
        long wall = System.nanoTime() - start;
        return new Outcome(wall / 1e9, busy.shares(wall));
    }

    @Override
    public void close() {
        learner.close();
        if (prior != null) {
            prior.close();
            priorModel.close();
        }
        tokenizer.close();
        policy.close();
    }

    private static long positive(Config config, String key) {
        long value = config.getLong(key);
        if (value < 1) {
            throw new UserInputException(key + " = " + value + ": must be >= 1");
        }
        return value;
    }

    /** Passes everything on and completes {@code finished} after the last step. */
    private record FinishingListener(Learner.Listener next, CompletableFuture<Void> finished) implements Learner.Listener {
        @Override
        public void onStep(ai.eapo.training.StepMetrics metrics) {
            next.onStep(metrics);
        }

        @Override
        public void onKnobsChanged(long effectiveStep, Knobs knobs) {
            next.onKnobsChanged(effectiveStep, knobs);
        }

        @Override
        public void onFinished() {
            next.onFinished();
            finished.complete(null);
        }
    }
}
