package ai.eapo.actors;

import ai.eapo.algorithm.HyperParameters;
import ai.eapo.data.ProblemSet;
import ai.eapo.model.ExperiencePrior;
import ai.eapo.model.PolicyModel;
import ai.eapo.training.Knobs;
import ai.eapo.training.LearnerStep;
import ai.eapo.training.TaskPrompts;
import ai.eapo.verify.MathVerifier;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.DispatcherSelector;
import akka.actor.typed.Props;
import akka.actor.typed.SupervisorStrategy;
import akka.actor.typed.Terminated;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Routers;
import akka.actor.typed.pubsub.Topic;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Wires the EAPO actors of one JVM (spec SYSTEM.md): PromptSource → Samplers (⇄ PriorPolicy) → Verifier pool
 * → Grouper → Learner, with the learner's weight versions and knobs broadcast on a topic. Actors that run
 * the model (Samplers, PriorPolicy, Learner) get the compute dispatcher so their long steps never starve
 * Akka's own dispatcher.
 */
public final class Pipeline {

    /** Dispatcher of the model-running actors ({@code conf/application.conf}). */
    public static final String COMPUTE_DISPATCHER = "eapo.compute-dispatcher";

    private Pipeline() {
    }

    /**
     * Everything a run needs. {@code replicas}: one policy copy per sampler; {@code prior}: null for plain GRPO.
     * {@code learner} holds the trainable {@code policy}'s optimizer and knobs.
     */
    public record Setup(PolicyModel policy, LearnerStep learner, List<PolicyModel> replicas, ExperiencePrior prior,
                        TaskPrompts prompts, MathVerifier verifier, int verifierPoolSize, List<ProblemSet.Problem> data,
                        int questionsPerStep, long totalSteps, Sampler.Settings samplerSettings,
                        Learner.Listener listener, BusyTime busy) {
    }

    /** The actors of a running pipeline. */
    public record Refs(ActorRef<Learner.Command> learner, ActorRef<PromptSource.Command> promptSource,
                       List<ActorRef<Sampler.Command>> samplers, ActorRef<Grouper.Command> grouper) {
    }

    /** Creates actors: an {@code ActorContext::spawn} or the test kit's {@code spawn}. */
    @FunctionalInterface
    public interface Spawner {
        <T> ActorRef<T> spawn(Behavior<T> behavior, String name, Props props);
    }

    /** Spawns every actor of the pipeline; sampling starts at once. */
    public static Refs start(Setup setup, Spawner spawner) {
        Props compute = DispatcherSelector.fromConfig(COMPUTE_DISPATCHER);
        HyperParameters hyper = setup.learner().hyper();
        Knobs knobs = setup.learner().knobs();
        ActorRef<Topic.Command<Sampler.Command>> topic =
                spawner.spawn(Topic.create(Sampler.Command.class, "eapo-learner-broadcast"), "learner-topic", Props.empty());
        ActorRef<PromptSource.Command> promptSource = spawner.spawn(PromptSource.create(setup.data(),
                setup.questionsPerStep(), setup.samplerSettings().runSeed(), setup.totalSteps(), knobs.maxStaleness()),
                "prompt-source", Props.empty());
        ActorRef<Learner.Command> learner = spawner.spawn(Learner.create(setup.policy(), setup.learner(),
                setup.totalSteps(), topic, promptSource, setup.listener(), setup.busy()), "learner", compute);
        ActorRef<Grouper.Command> grouper = spawner.spawn(Grouper.create(hyper.groupSize(), setup.questionsPerStep(),
                hyper.advantage(), learner, promptSource), "grouper", Props.empty());
        ActorRef<Verifier.Command> verifiers = spawner.spawn(Routers.pool(setup.verifierPoolSize(),
                Behaviors.supervise(Verifier.create(setup.verifier())).onFailure(SupervisorStrategy.restart())),
                "verifiers", Props.empty());
        ActorRef<PriorPolicy.Command> prior = setup.prior() == null ? null
                : spawner.spawn(PriorPolicy.create(setup.prior(), setup.busy()), "prior", compute);
        Sampler.Peers peers = new Sampler.Peers(promptSource, prior, verifiers, grouper, topic, setup.busy());
        List<ActorRef<Sampler.Command>> samplers = new ArrayList<>();
        for (int i = 0; i < setup.replicas().size(); i++) {
            SamplerReplica replica = new SamplerReplica(i, setup.replicas().get(i), knobs);
            samplers.add(spawner.spawn(Behaviors.supervise(Sampler.create(replica, setup.prompts(),
                    setup.samplerSettings(), peers)).onFailure(SupervisorStrategy.restart()), "sampler-" + i, compute));
        }
        return new Refs(learner, promptSource, samplers, grouper);
    }

    /**
     * The guardian of a training node's actor system: starts the pipeline, hands out its actors through
     * {@code refs}, and fails {@code finished} if the learner stops before the run is over.
     */
    public static Behavior<Void> guardian(Setup setup, CompletableFuture<Refs> refs, CompletableFuture<Void> finished) {
        return Behaviors.setup(context -> {
            Refs started = start(setup, context::spawn);
            context.watch(started.learner());
            refs.complete(started);
            return Behaviors.receive(Void.class)
                    .onSignal(Terminated.class, signal -> {
                        finished.completeExceptionally(new IllegalStateException(
                                "the learner stopped before the run finished; see the log above"));
                        return Behaviors.stopped();
                    })
                    .build();
        });
    }
}
