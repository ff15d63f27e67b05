package ai.eapo.actors;

import ai.eapo.algorithm.HyperParameters;
import ai.eapo.model.ContinuousDecoder;
import ai.eapo.model.ExperiencePrior;
import ai.eapo.model.Generator;
import ai.eapo.model.SamplingParams;
import ai.eapo.model.WeightSnapshot;
import ai.eapo.training.GroupRollout;
import ai.eapo.training.Knobs;
import ai.eapo.training.TaskPrompts;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.PostStop;
import akka.actor.typed.PreRestart;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import akka.actor.typed.pubsub.Topic;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Owns a policy replica and decodes a continuous batch, one decode step per {@code Tick} message so that
 * questions, weight versions, knobs and prior answers are handled between steps. Experience-augmented
 * sequences at critical positions are parked and their questions sent to the PriorPolicy in one message
 * per step; the rest of the batch keeps decoding. Finished responses go to the Verifier pool.
 *
 * <p>It pulls questions from the PromptSource while it has room, and starts a question of step k only
 * when its weights are at least version k − max-staleness.
 */
public final class Sampler extends AbstractBehavior<Sampler.Command> {

    public sealed interface Command {
    }

    /** Questions from the PromptSource. */
    public record Assigned(List<GroupTask> tasks) implements Command, CborSerializable {
    }

    /** The learner published a version; in one JVM it travels as a shared, reference-counted copy. */
    public record WeightsPublished(long version, WeightSnapshot snapshot) implements Command {
    }

    /** The learner's knobs changed. */
    public record KnobsChanged(Knobs knobs) implements Command, CborSerializable {
    }

    /** The prior's tokens for parked sequences. */
    public record PriorAnswered(List<Long> sequenceIds, List<ExperiencePrior.Draw> draws) implements Command, CborSerializable {
    }

    private enum Tick implements Command {
        INSTANCE
    }

    /** Fixed settings of a sampler. */
    public record Settings(int groupSize, int maxNewTokens, SamplingParams sampling, int decodeBatchSize,
                           int maxSequencesInFlight, long runSeed, HyperParameters hyper) {
    }

    /** Where a sampler's work comes from and goes to; {@code prior} is null for plain GRPO. */
    public record Peers(ActorRef<PromptSource.Command> promptSource, ActorRef<PriorPolicy.Command> prior,
                        ActorRef<Verifier.Command> verifiers, ActorRef<Grouper.Command> grouper,
                        ActorRef<Topic.Command<Command>> learnerTopic, BusyTime busy) {
    }

    static final String BUSY_KIND = "sampler";

    /** Which question and slot a sequence answers. */
    private record Slot(GroupTask task, int slot, long[] prompt) {
    }

    private final SamplerReplica replica;
    private final TaskPrompts prompts;
    private final Settings settings;
    private final Peers peers;
    private final ContinuousDecoder decoder;
    private final Map<Long, Slot> slots = new HashMap<>();
    private final Deque<GroupTask> held = new ArrayDeque<>();
    private boolean demandOutstanding;
    private boolean tickPending;

    public static Behavior<Command> create(SamplerReplica replica, TaskPrompts prompts, Settings settings, Peers peers) {
        return Behaviors.setup(context -> new Sampler(context, replica, prompts, settings, peers));
    }

    private Sampler(ActorContext<Command> context, SamplerReplica replica, TaskPrompts prompts, Settings settings,
                    Peers peers) {
        super(context);
        this.replica = replica;
        this.prompts = prompts;
        this.settings = settings;
        this.peers = peers;
        this.decoder = new ContinuousDecoder(replica.model, settings.sampling(), Set.of(prompts.eos()),
                settings.decodeBatchSize(), this::isCritical);
        decoder.setWeightVersion(replica.version);
        peers.busy().register(BUSY_KIND);
        peers.learnerTopic().tell(Topic.subscribe(context.getSelf()));
        // After a restart whatever this sampler held is lost: the PromptSource hands it out again.
        peers.promptSource().tell(new PromptSource.SamplerReset(context.getSelf()));
        askForWork();
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Assigned.class, this::onAssigned)
                .onMessage(WeightsPublished.class, this::onWeights)
                .onMessage(KnobsChanged.class, this::onKnobs)
                .onMessage(PriorAnswered.class, this::onPriorAnswered)
                .onMessageEquals(Tick.INSTANCE, this::onTick)
                .onSignal(PreRestart.class, signal -> release())
                .onSignal(PostStop.class, signal -> release())
                .build();
    }

    private Behavior<Command> onAssigned(Assigned assigned) {
        demandOutstanding = false;
        held.addAll(assigned.tasks());
        startReadyTasks();
        askForWork();
        scheduleTick();
        return this;
    }

    private Behavior<Command> onWeights(WeightsPublished published) {
        if (published.version() > replica.version && published.snapshot().loadInto(replica.model)) {
            replica.version = published.version();
            decoder.setWeightVersion(replica.version);
            startReadyTasks();
            scheduleTick();
        }
        return this;
    }

    private Behavior<Command> onKnobs(KnobsChanged changed) {
        replica.knobs = changed.knobs();
        startReadyTasks();
        scheduleTick();
        return this;
    }

    private Behavior<Command> onPriorAnswered(PriorAnswered answered) {
        afterFinished(decoder.resume(answered.sequenceIds(), answered.draws()));
        scheduleTick();
        return this;
    }

    private Behavior<Command> onTick() {
        tickPending = false;
        if (decoder.canStep()) {
            ContinuousDecoder.StepResult step = peers.busy().measure(BUSY_KIND, decoder::step);
            if (!step.consultations().isEmpty()) {
                peers.prior().tell(new PriorPolicy.Consult(step.consultations(), getContext().getSelf()));
            }
            afterFinished(step.finished());
        }
        scheduleTick();
        return this;
    }

    private boolean isCritical(double entropy) {
        return entropy > replica.knobs.tau();
    }

    /** Sends finished responses to be verified, frees their prior caches, and makes room for more work. */
    private void afterFinished(List<Generator.Completion> finished) {
        List<Long> consulted = new ArrayList<>();
        for (Generator.Completion c : finished) {
            Slot slot = slots.remove(c.id());
            peers.verifiers().tell(new Verifier.Check(slot.task(), slot.slot(), slot.prompt(), c,
                    prompts.decode(c.tokens()), peers.grouper()));
            if (c.experience()) {
                consulted.add(c.id());
            }
        }
        if (!consulted.isEmpty() && peers.prior() != null) {
            peers.prior().tell(new PriorPolicy.Release(consulted));
        }
        if (!finished.isEmpty()) {
            askForWork();
        }
    }

    /** Starts held questions whose step is within max-staleness of the loaded weights. */
    private void startReadyTasks() {
        Knobs knobs = replica.knobs;
        HyperParameters hyper = knobs.applyTo(settings.hyper());
        while (!held.isEmpty() && held.peek().step() <= replica.version + knobs.maxStaleness()) {
            GroupTask task = held.poll();
            long[] prompt = prompts.prompt(task.problem());
            int experience = peers.prior() == null ? 0 : hyper.schedule().experienceCount(task.step(), settings.groupSize());
            List<Generator.Request> requests = GroupRollout.requests(replica.takeIds(settings.groupSize()),
                    settings.runSeed(), task.step(), task.question(), prompt, settings.groupSize(), experience,
                    settings.maxNewTokens());
            for (int slot = 0; slot < requests.size(); slot++) {
                slots.put(requests.get(slot).id(), new Slot(task, slot, prompt));
                decoder.submit(requests.get(slot));
            }
        }
    }

    /** Asks the PromptSource for as many questions as fit, unless a request is already pending. */
    private void askForWork() {
        int load = decoder.inFlight() + held.size() * settings.groupSize();
        int room = (settings.maxSequencesInFlight() - load) / settings.groupSize();
        if (!demandOutstanding && room > 0) {
            demandOutstanding = true;
            peers.promptSource().tell(new PromptSource.RequestGroups(room, getContext().getSelf()));
        }
    }

    private void scheduleTick() {
        if (!tickPending && decoder.canStep()) {
            tickPending = true;
            getContext().getSelf().tell(Tick.INSTANCE);
        }
    }

    private Behavior<Command> release() {
        decoder.close();
        return this;
    }
}
