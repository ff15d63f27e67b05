package ai.eapo.actors;

import ai.eapo.UserInputException;
import ai.eapo.algorithm.HyperParameters;
import ai.eapo.algorithm.StepPlanner;
import ai.eapo.data.ProblemSet;
import ai.eapo.model.CheckpointIdentity;
import ai.eapo.model.ExperiencePrior;
import ai.eapo.model.PolicyModel;
import ai.eapo.model.SamplingParams;
import ai.eapo.model.TokenizerVocabulary;
import ai.eapo.training.LearnerStep;
import ai.eapo.training.TaskPrompts;
import ai.eapo.verify.AnswerChecker;

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
import java.util.Optional;
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
     * The learner's side: the trainable {@code policy} with its optimizer, knobs and planning state
     * ({@code learning}); the run starts (or resumes) at learner step {@code firstStep} of {@code totalSteps}, drawing
     * {@code questionsPerStep} questions a step from {@code data}. The WeightServer checks that subscribers sample with
     * the learner's {@code sampling} on its LoRA {@code base} (null: whole weights); {@code maxNewTokens} is L_max of
     * the overlong penalty.
     */
    public record LearnerPart(PolicyModel policy, LearnerStep learning, long firstStep, long totalSteps,
                              List<ProblemSet.Problem> data, int questionsPerStep, long runSeed, SamplingParams sampling,
                              CheckpointIdentity base, int maxNewTokens, Learner.Listener listener) {
    }

    /** One policy copy per sampler; {@code consultsPrior}: whether the run is EAPO (a prior is consulted) or GRPO. */
    public record SamplerPart(List<PolicyModel> replicas, TaskPrompts prompts, Sampler.Settings settings,
                              boolean consultsPrior) {
    }

    /** The frozen prior, with its tokenizer's ids and the sampling settings it must share with the samplers. */
    public record PriorPart(ExperiencePrior prior, TokenizerVocabulary vocabulary, SamplingParams sampling) {
    }

    /** A pool of {@code poolSize} verifiers. */
    public record VerifierPart(AnswerChecker verifier, int poolSize) {
    }

    /**
     * What a node runs: its {@code roles}, and the part of each role it runs, present exactly when it has the role (a
     * GRPO run has no prior part: nothing consults one).
     */
    public record Setup(Set<Role> roles, Optional<LearnerPart> learner, Optional<SamplerPart> sampler,
                        Optional<PriorPart> prior, Optional<VerifierPart> verifier, PipelineActivity activity) {

        public Setup {
            roles = Set.copyOf(roles);
            require(roles.contains(Role.LEARNER) == learner.isPresent(), "learner", roles);
            require(roles.contains(Role.SAMPLER) == sampler.isPresent(), "sampler", roles);
            require(roles.contains(Role.VERIFIER) == verifier.isPresent(), "verifier", roles);
            require(roles.contains(Role.PRIOR) || prior.isEmpty(), "prior", roles);
        }

        private static void require(boolean consistent, String part, Set<Role> roles) {
            if (!consistent) {
                throw new IllegalArgumentException("a node with roles " + roles + " has its " + part
                        + " part exactly when it has that role");
            }
        }
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
        LearnerPart learner = setup.learner().orElseThrow();
        SamplerPart part = setup.sampler().orElseThrow();
        LearnerSide side = startLearnerSide(learner, setup.activity(), spawner);
        Optional<ActorRef<PriorPolicy.Command>> prior = setup.prior().map(p -> startPrior(p, setup.activity(), spawner));
        ActorRef<Verifier.Command> verifiers = startVerifiers(setup.verifier().orElseThrow(), spawner);
        Sampler.Peers peers = new Sampler.Peers(side.promptSource(), prior, verifiers, side.grouper(), side.weights(),
                setup.activity());
        List<ActorRef<Sampler.Command>> samplers = new ArrayList<>();
        for (int i = 0; i < part.replicas().size(); i++) {
            // The learner's own weights were copied into the replicas: they start at its first version.
            SamplerReplica replica = new SamplerReplica(i, part.replicas().get(i), learner.firstStep());
            samplers.add(spawner.spawn(sampler(replica, part, peers), "sampler-" + i, compute()));
        }
        return new Refs(side.learner(), side.promptSource(), samplers, side.grouper());
    }

    /** The Learner, PromptSource, Grouper and WeightServer; each registers itself with the receptionist. */
    public static LearnerSide startLearnerSide(LearnerPart part, PipelineActivity activity, Spawner spawner) {
        HyperParameters hyper = part.learning().hyper();
        StepPlanner planner = new StepPlanner(part.data().size(), part.questionsPerStep(), part.runSeed());
        ActorRef<WeightServer.Command> weights = spawner.spawn(WeightServer.create(part.sampling(), part.base()),
                "weight-server", compute());
        ActorRef<PromptSource.Command> promptSource = spawner.spawn(PromptSource.create(part.data(), activity), "prompt-source",
                Props.empty());
        ActorRef<Learner.Command> learner = spawner.spawn(Learner.create(part.policy(), part.learning(), planner,
                part.firstStep(), part.totalSteps(), weights, promptSource, part.listener(), activity), "learner", compute());
        ActorRef<Grouper.Command> grouper = spawner.spawn(Grouper.create(part.questionsPerStep(), part.firstStep(),
                hyper.advantage(), hyper.strategies().overlong(), part.maxNewTokens(), learner, promptSource), "grouper",
                Props.empty());
        return new LearnerSide(learner, promptSource, grouper, weights);
    }

    /** The prior, registered with the receptionist. */
    public static ActorRef<PriorPolicy.Command> startPrior(PriorPart part, PipelineActivity activity, Spawner spawner) {
        return spawner.spawn(PriorPolicy.create(part.prior(), part.sampling(), part.vocabulary(), activity), "prior",
                compute());
    }

    /** This node's pool of verifiers behind one router, registered with the receptionist. */
    public static ActorRef<Verifier.Command> startVerifiers(VerifierPart part, Spawner spawner) {
        Behavior<Verifier.Command> pool = Routers.pool(part.poolSize(),
                Behaviors.supervise(Verifier.create(part.verifier())).onFailure(SupervisorStrategy.restart()));
        return spawner.spawn(Behaviors.<Verifier.Command>setup(context -> {
            context.getSystem().receptionist().tell(Receptionist.register(Verifier.SERVICE_KEY, context.getSelf()));
            return pool;
        }), "verifiers", Props.empty());
    }

    /**
     * A supervised sampler: a failure restarts it with its replica, and its questions are handed out again. A
     * configuration the run refused ({@link Sampler.Refused}) stops it instead: a restart would be refused again.
     */
    static Behavior<Sampler.Command> sampler(SamplerReplica replica, SamplerPart part, Sampler.Peers peers) {
        return Behaviors.supervise(Behaviors.supervise(
                        Sampler.create(replica, part.prompts(), part.settings(), peers))
                .onFailure(UserInputException.class, SupervisorStrategy.stop()))
                .onFailure(SupervisorStrategy.restart());
    }

    /**
     * Spawns the parts of the node's roles: with every role they are wired directly; otherwise the samplers find
     * the learner's side, the prior and the verifiers through the receptionist. Returns the learner, if any.
     */
    static ActorRef<Learner.Command> startRoles(Setup setup, Spawner spawner) {
        if (setup.roles().containsAll(Set.of(Role.values()))) {
            return start(setup, spawner).learner();
        }
        ActorRef<Learner.Command> learner = setup.learner()
                .map(part -> startLearnerSide(part, setup.activity(), spawner).learner()).orElse(null);
        setup.prior().ifPresent(part -> startPrior(part, setup.activity(), spawner));
        setup.verifier().ifPresent(part -> startVerifiers(part, spawner));
        setup.sampler().ifPresent(part -> spawner.spawn(SamplerNode.create(part, setup.activity()), "sampler-node",
                Props.empty()));
        return learner;
    }

    static Props compute() {
        return DispatcherSelector.fromConfig(COMPUTE_DISPATCHER);
    }
}
