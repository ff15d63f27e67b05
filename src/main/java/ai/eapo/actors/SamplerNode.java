package ai.eapo.actors;

import ai.eapo.UserInputException;

import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.ChildFailed;
import org.apache.pekko.actor.typed.Terminated;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.Routers;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The samplers of a sampler node in a cluster. It finds the learner's side (PromptSource, Grouper,
 * WeightServer) through the receptionist and starts one Sampler per replica once all three are up; the
 * prior and the verifiers are reached through group routers that follow the receptionist, so a restarted
 * prior or verifier node is picked up by itself. When the learner's side changes (the learner's node was
 * restarted and resumed from a checkpoint) or disappears, the samplers are stopped, and new ones start with
 * the new learner: their replicas are marked unloaded, so they fetch the resumed learner's weights first.
 */
public final class SamplerNode extends AbstractBehavior<SamplerNode.Command> {

    public sealed interface Command {
    }

    private record Listed(Receptionist.Listing listing) implements Command {
    }

    /** The learner's side that samplers work for; all on one node. */
    private record LearnerServices(ActorRef<PromptSource.Command> promptSource, ActorRef<Grouper.Command> grouper,
                                   ActorRef<WeightServer.Command> weights) {
    }

    /** Virtual nodes per prior in the consistent-hashing ring (Pekko's recommended order of magnitude). */
    private static final int PRIOR_RING_VIRTUAL_NODES = 10;

    private final Pipeline.SamplerPart part;
    private final PipelineActivity activity;
    private final List<SamplerReplica> replicas = new ArrayList<>();
    private final Map<ServiceKey<?>, Set<? extends ActorRef<?>>> listings = new HashMap<>();
    /** The priors, behind a router; none when the run consults no prior (GRPO). */
    private final Optional<ActorRef<PriorPolicy.Command>> prior;
    private final ActorRef<Verifier.Command> verifiers;
    private final List<ActorRef<Sampler.Command>> samplers = new ArrayList<>();
    private LearnerServices serving;
    private int generation;

    public static Behavior<Command> create(Pipeline.SamplerPart part, PipelineActivity activity) {
        return Behaviors.setup(context -> new SamplerNode(context, part, activity));
    }

    private SamplerNode(ActorContext<Command> context, Pipeline.SamplerPart part, PipelineActivity activity) {
        super(context);
        this.part = part;
        this.activity = activity;
        for (int i = 0; i < part.replicas().size(); i++) {
            replicas.add(new SamplerReplica(i, part.replicas().get(i), SamplerReplica.UNLOADED));
        }
        // Consultations of one sampler always go to the same prior, which keeps its sequences' caches.
        prior = part.consultsPrior()
                ? Optional.of(context.spawn(Routers.group(PriorPolicy.SERVICE_KEY).withConsistentHashingRouting(
                        PRIOR_RING_VIRTUAL_NODES, message -> message.sampler().path().toString()), "prior-router"))
                : Optional.empty();
        verifiers = context.spawn(Routers.group(Verifier.SERVICE_KEY).withRoundRobinRouting(), "verifier-router");
        ActorRef<Receptionist.Listing> adapter = context.messageAdapter(Receptionist.Listing.class, Listed::new);
        for (ServiceKey<?> key : List.of(PromptSource.SERVICE_KEY, Grouper.SERVICE_KEY, WeightServer.SERVICE_KEY)) {
            context.getSystem().receptionist().tell(Receptionist.subscribe(key, adapter));
        }
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Listed.class, this::onListed)
                .onSignal(ChildFailed.class, this::onSamplerFailed)
                .onSignal(Terminated.class, stopped -> this)
                .build();
    }

    /**
     * A sampler the run refused (its configuration, {@link Sampler.Refused}) stops this node with the reason;
     * any other failure was a restart's business, and a sampler stopped here for a new learner is no failure.
     */
    private Behavior<Command> onSamplerFailed(ChildFailed failed) {
        if (failed.getCause() instanceof UserInputException refused) {
            throw refused;
        }
        return this;
    }

    private Behavior<Command> onListed(Listed listed) {
        Receptionist.Listing listing = listed.listing();
        listings.put(listing.getKey(), listing.getServiceInstances(listing.getKey()));
        LearnerServices found = learnerServices();
        if (Objects.equals(found, serving)) {
            return this;
        }
        if (!samplers.isEmpty()) {
            getContext().getLog().info("the learner's services changed; restarting {} sampler(s)", samplers.size());
            samplers.forEach(getContext()::stop);
            samplers.clear();
        }
        serving = found;
        if (found != null) {
            startSamplers(found);
        }
        return this;
    }

    /** The PromptSource, Grouper and WeightServer of one node, when exactly one such node is up. */
    @SuppressWarnings("unchecked")
    private LearnerServices learnerServices() {
        Set<ActorRef<PromptSource.Command>> sources =
                (Set<ActorRef<PromptSource.Command>>) listings.getOrDefault(PromptSource.SERVICE_KEY, Set.of());
        Set<ActorRef<Grouper.Command>> groupers =
                (Set<ActorRef<Grouper.Command>>) listings.getOrDefault(Grouper.SERVICE_KEY, Set.of());
        Set<ActorRef<WeightServer.Command>> servers =
                (Set<ActorRef<WeightServer.Command>>) listings.getOrDefault(WeightServer.SERVICE_KEY, Set.of());
        if (sources.size() != 1) {
            return null;
        }
        ActorRef<PromptSource.Command> source = sources.iterator().next();
        var address = source.path().address();
        ActorRef<Grouper.Command> grouper = groupers.stream().filter(g -> g.path().address().equals(address))
                .findFirst().orElse(null);
        ActorRef<WeightServer.Command> server = servers.stream().filter(w -> w.path().address().equals(address))
                .findFirst().orElse(null);
        return grouper == null || server == null ? null : new LearnerServices(source, grouper, server);
    }

    private void startSamplers(LearnerServices learner) {
        generation++;
        Sampler.Peers peers = new Sampler.Peers(learner.promptSource(), prior, verifiers, learner.grouper(),
                learner.weights(), activity);
        for (SamplerReplica replica : replicas) {
            replica.markUnloaded();
            ActorRef<Sampler.Command> sampler = getContext().spawn(Pipeline.sampler(replica, part, peers),
                    "sampler-" + replica.index() + "-" + generation, Pipeline.compute());
            getContext().watch(sampler);
            samplers.add(sampler);
        }
        getContext().getLog().info("{} sampler(s) working for the learner at {}", samplers.size(),
                learner.promptSource().path().address());
    }
}
