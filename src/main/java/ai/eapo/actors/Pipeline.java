package ai.eapo.actors;

import ai.eapo.UserInputException;
import ai.eapo.algorithm.HyperParameters;
import ai.eapo.algorithm.StepPlanner;
import ai.eapo.data.ProblemSet;
import ai.eapo.model.ExperiencePrior;
import ai.eapo.model.PolicyModel;
import ai.eapo.model.TokenizerVocabulary;
import ai.eapo.training.LearnerStep;
import ai.eapo.training.TaskPrompts;
import ai.eapo.verify.MathVerifier;

import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Routers;
import org.apache.pekko.actor.typed.receptionist.Receptionist;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Wires the EAPO actors (spec SYSTEM.md): PromptSource → Samplers (⇄ PriorPolicy, ⇄ Verifier pool) → Grouper
 * → Learner, with the learner's weight versions and knobs served by the WeightServer. A node runs the parts
 * of its {@link Role}s: in one JVM ({@link #start}) the actors know each other directly; across a cluster
 * every shared service is registered with the receptionist and Samplers find it there ({@link SamplerNode}).
 * Actors that run the model (Samplers, PriorPolicy, Learner, WeightServer) get the compute dispatcher so
 * their long steps never starve Pekko's own dispatcher.
 */
public final class Pipeline {

    /** Dispatcher of the model-running actors ({@code conf/application.conf}). */
    public static final String COMPUTE_DISPATCHER = "eapo.compute-dispatcher";

    private Pipeline() {
    }

    /** What a process of the cluster runs; a node may have several. */
    public enum Role {
        /** The Learner with the PromptSource, the Grouper and the WeightServer. */
        LEARNER,
        SAMPLER,
        PRIOR,
        VERIFIER;

        /** The name used in configuration and as the Pekko cluster role. */
        public String configName() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /**
     * Everything the parts of a node need; a part's fields may be null on a node without that role.
     * {@code replicas}: one policy copy per sampler; {@code prior}: the prior (null on a node without the prior
     * role), with {@code priorVocabulary} its tokenizer's ids; {@code usesExperience}: whether the run consults a
     * prior at all (EAPO) or not (GRPO). {@code learner} holds the trainable {@code policy}'s optimizer and knobs;
     * the run starts (or resumes) at learner step {@code firstStep}.
     */
    public record Setup(PolicyModel policy, LearnerStep learner, long firstStep, List<PolicyModel> replicas,
                        boolean usesExperience, ExperiencePrior prior, TokenizerVocabulary priorVocabulary,
                        TaskPrompts prompts, MathVerifier verifier, int verifierPoolSize,
                        List<ProblemSet.Problem> data, int questionsPerStep, long totalSteps,
                        Sampler.Settings samplerSettings, Learner.Listener listener, BusyTime busy) {
    }

    /** The learner's side of a pipeline. */
    public record LearnerSide(ActorRef<Learner.Command> learner, ActorRef<PromptSource.Command> promptSource,
                              ActorRef<Grouper.Command> grouper, ActorRef<WeightServer.Command> weights) {
    }

    /** The actors of a running one-JVM pipeline. */
    public record Refs(ActorRef<Learner.Command> learner, ActorRef<PromptSource.Command> promptSource,
                       List<ActorRef<Sampler.Command>> samplers, ActorRef<Grouper.Command> grouper) {
    }

    /** Creates actors: an {@code ActorContext::spawn} or the test kit's {@code spawn}. */
    @FunctionalInterface
    public interface Spawner {
        <T> ActorRef<T> spawn(Behavior<T> behavior, String name, Props props);
    }

    /** Every actor of the pipeline in one JVM, wired directly; sampling starts at once. */
    public static Refs start(Setup setup, Spawner spawner) {
        LearnerSide side = startLearnerSide(setup, spawner);
        ActorRef<PriorPolicy.Command> prior = setup.usesExperience() ? startPrior(setup, spawner) : null;
        ActorRef<Verifier.Command> verifiers = startVerifiers(setup, spawner);
        Sampler.Peers peers = new Sampler.Peers(side.promptSource(), prior, verifiers, side.grouper(), side.weights(),
                setup.busy());
        List<ActorRef<Sampler.Command>> samplers = new ArrayList<>();
        for (int i = 0; i < setup.replicas().size(); i++) {
            SamplerReplica replica = new SamplerReplica(i, setup.replicas().get(i), setup.firstStep());
            samplers.add(spawner.spawn(sampler(replica, setup, peers), "sampler-" + i, compute()));
        }
        return new Refs(side.learner(), side.promptSource(), samplers, side.grouper());
    }

    /** The Learner, PromptSource, Grouper and WeightServer; each registers itself with the receptionist. */
    public static LearnerSide startLearnerSide(Setup setup, Spawner spawner) {
        HyperParameters hyper = setup.learner().hyper();
        StepPlanner planner = new StepPlanner(setup.data().size(), setup.questionsPerStep(),
                setup.samplerSettings().runSeed());
        ActorRef<WeightServer.Command> weights = spawner.spawn(WeightServer.create(setup.samplerSettings().sampling(),
                        setup.samplerSettings().base()),
                "weight-server", compute());
        ActorRef<PromptSource.Command> promptSource = spawner.spawn(PromptSource.create(setup.data()), "prompt-source",
                Props.empty());
        ActorRef<Learner.Command> learner = spawner.spawn(Learner.create(setup.policy(), setup.learner(), planner,
                setup.firstStep(), setup.totalSteps(), weights, promptSource, setup.listener(), setup.busy()),
                "learner", compute());
        ActorRef<Grouper.Command> grouper = spawner.spawn(Grouper.create(setup.questionsPerStep(), setup.firstStep(),
                hyper.advantage(), hyper.strategies().overlong(), setup.samplerSettings().maxNewTokens(), learner,
                promptSource), "grouper", Props.empty());
        return new LearnerSide(learner, promptSource, grouper, weights);
    }

    /** The prior, registered with the receptionist. */
    public static ActorRef<PriorPolicy.Command> startPrior(Setup setup, Spawner spawner) {
        return spawner.spawn(PriorPolicy.create(setup.prior(), setup.samplerSettings().sampling(),
                setup.priorVocabulary(), setup.busy()), "prior",
                compute());
    }

    /** This node's pool of verifiers behind one router, registered with the receptionist. */
    public static ActorRef<Verifier.Command> startVerifiers(Setup setup, Spawner spawner) {
        Behavior<Verifier.Command> pool = Routers.pool(setup.verifierPoolSize(),
                Behaviors.supervise(Verifier.create(setup.verifier())).onFailure(SupervisorStrategy.restart()));
        return spawner.spawn(Behaviors.<Verifier.Command>setup(context -> {
            context.getSystem().receptionist().tell(Receptionist.register(Verifier.SERVICE_KEY, context.getSelf()));
            return pool;
        }), "verifiers", Props.empty());
    }

    /**
     * A supervised sampler: a failure restarts it with its replica, and its questions are handed out again. A
     * configuration the run refused ({@link Sampler.Refused}) stops it instead: a restart would be refused again.
     */
    static Behavior<Sampler.Command> sampler(SamplerReplica replica, Setup setup, Sampler.Peers peers) {
        return Behaviors.supervise(Behaviors.supervise(
                        Sampler.create(replica, setup.prompts(), setup.samplerSettings(), peers))
                .onFailure(UserInputException.class, SupervisorStrategy.stop()))
                .onFailure(SupervisorStrategy.restart());
    }

    /**
     * Spawns the parts of {@code roles}: with every role they are wired directly; otherwise the samplers find
     * the learner's side, the prior and the verifiers through the receptionist. Returns the learner, if any.
     */
    static ActorRef<Learner.Command> startRoles(Setup setup, Set<Role> roles, Spawner spawner) {
        if (roles.containsAll(Set.of(Role.values()))) {
            return start(setup, spawner).learner();
        }
        ActorRef<Learner.Command> learner = null;
        if (roles.contains(Role.LEARNER)) {
            learner = startLearnerSide(setup, spawner).learner();
        }
        if (roles.contains(Role.PRIOR) && setup.usesExperience()) {
            startPrior(setup, spawner);
        }
        if (roles.contains(Role.VERIFIER)) {
            startVerifiers(setup, spawner);
        }
        if (roles.contains(Role.SAMPLER)) {
            spawner.spawn(SamplerNode.create(setup), "sampler-node", Props.empty());
        }
        return learner;
    }

    static Props compute() {
        return DispatcherSelector.fromConfig(COMPUTE_DISPATCHER);
    }
}
