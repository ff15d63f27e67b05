package ai.eapo.actors;

import ai.eapo.UserInputException;
import ai.eapo.algorithm.RolloutPlan;
import ai.eapo.model.CheckpointIdentity;
import ai.eapo.model.ContinuousDecoder;
import ai.eapo.model.ExperiencePrior;
import ai.eapo.model.Generator;
import ai.eapo.model.SamplingParams;
import ai.eapo.model.WeightLayout;
import ai.eapo.training.GroupRollout;
import ai.eapo.training.TaskPrompts;

import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.PreRestart;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Owns a policy replica and decodes a continuous batch, one decode step per {@code Tick} message so that
 * questions, weight versions and prior answers are handled between steps: it decodes and routes, and decides
 * nothing of the algorithm. Each question comes with its step's {@link RolloutPlan}: which slots are experience
 * responses, where they consult the prior (τ), and the weight version the question needs. Experience responses
 * at critical positions are parked and sent to the PriorPolicy in one message per step; the rest of the batch
 * keeps decoding. Finished responses go to the Verifier pool, and with their rewards to the Grouper.
 * Unanswered consultations and checks are sent again ({@link RetriedRequests}); answers are matched by sequence
 * (and position), so a duplicate changes nothing. Newer weight versions are fetched by a {@link WeightFetcher}
 * and loaded between two decode steps.
 */
public final class Sampler extends AbstractBehavior<Sampler.Command> {

    public sealed interface Command {
    }

    /** Questions from the PromptSource. */
    public record Assigned(List<GroupTask> tasks) implements Command, CborSerializable {
    }

    /**
     * The learner's {@link WeightServer} announces version {@code version}: the {@code checksum} of its bytes
     * (e.g. {@code "crc32c:1a2b3c4d"}; null while every subscriber is in the learner's JVM, as no bytes were
     * taken), the {@code layout} of its tensors, and the {@code server} to
     * {@link WeightServer.Fetch} it from. A sampler on another node is then streamed the bytes (see
     * {@link WeightTransfer}); one in the learner's JVM is handed the shared snapshot.
     */
    public record WeightsPublished(long version, String checksum, WeightLayout layout,
                                   ActorRef<WeightServer.Command> server) implements Command, CborSerializable {
    }

    /**
     * The learner's WeightServer or the prior will not work with this sampler ({@code reason}: sampling settings
     * that differ across nodes, say). The sampler stops with the reason, and so does its node: a restart would
     * be refused again.
     */
    public record Refused(String reason) implements Command, CborSerializable {
    }

    /**
     * The prior's tokens for parked sequences: {@code draws[i]} for sequence {@code sequenceIds[i]} at
     * position {@code positions[i]} (its length when it asked), so an answer to an earlier ask is recognised.
     */
    public record PriorAnswered(List<Long> sequenceIds, List<Integer> positions, List<ExperiencePrior.Draw> draws)
            implements Command, CborSerializable {
    }

    /** A verifier's answer, through this sampler's adapter. */
    private record VerifierAnswered(Verifier.Scored scored) implements Command {
    }

    /** The end of fetching version {@code version}: what came, or the failure of the last attempt. */
    record WeightsFetched(long version, WeightFetcher.Fetched fetched, Throwable failure) implements Command {
    }

    private enum Tick implements Command {
        INSTANCE
    }

    /** Time to send unanswered prior consultations and verifications again. */
    private enum RetryCheck implements Command {
        INSTANCE
    }

    /**
     * Fixed settings of a sampler. {@code retryAfter}: a consultation or verification unanswered this long is
     * sent again (its prior or verifier may have died). {@code base}: the frozen base its LoRA adapters decode on
     * (null without LoRA), which must be the learner's.
     */
    public record Settings(int groupSize, int maxNewTokens, SamplingParams sampling, int decodeBatchSize,
                           int maxSequencesInFlight, long runSeed, Duration retryAfter, CheckpointIdentity base) {
    }

    /** Where a sampler's work comes from and goes to; a GRPO run consults no {@code prior}. */
    public record Peers(ActorRef<PromptSource.Command> promptSource, Optional<ActorRef<PriorPolicy.Command>> prior,
                        ActorRef<Verifier.Command> verifiers, ActorRef<Grouper.Command> grouper,
                        ActorRef<WeightServer.Command> weights, PipelineActivity activity) {
    }

    static final String BUSY_KIND = "sampler";

    /** Which question and slot a sequence answers. */
    private record Slot(GroupTask task, int slot, long[] prompt) {
    }

    /** A finished response waiting for its reward, and the check asking for it. */
    private record Finished(Slot slot, Generator.Completion completion, Verifier.Check check) {
    }

    private final SamplerReplica replica;
    private final TaskPrompts prompts;
    private final Settings settings;
    private final Peers peers;
    private final ContinuousDecoder decoder;
    private final Map<Long, Slot> slots = new HashMap<>();
    private final RetriedRequests<ExperiencePrior.Consultation> consultations;
    private final RetriedRequests<Finished> checks;
    /** What {@link #reportInFlight()} told the node's activity last. */
    private int reportedConsultations;
    private int reportedChecks;
    /** Questions waiting for the weight version their plan needs. */
    private final Deque<GroupTask> held = new ArrayDeque<>();
    private final WeightFetcher weights;
    private final ActorRef<Verifier.Scored> verdicts;
    /** A request for work is on its way to the PromptSource: ask no more until it is answered. */
    private boolean demandOutstanding;
    /** A Tick is in the mailbox: one decode step at a time. */
    private boolean tickPending;

    public static Behavior<Command> create(SamplerReplica replica, TaskPrompts prompts, Settings settings, Peers peers) {
        return Behaviors.setup(context -> Behaviors.withTimers(timers -> {
            context.setLoggerName(Sampler.class); // Pekko names it after the actor cell otherwise
            timers.startTimerWithFixedDelay(RetryCheck.INSTANCE, settings.retryAfter());
            return new Sampler(context, replica, prompts, settings, peers);
        }));
    }

    private Sampler(ActorContext<Command> context, SamplerReplica replica, TaskPrompts prompts, Settings settings,
                    Peers peers) {
        super(context);
        this.replica = replica;
        this.prompts = prompts;
        this.settings = settings;
        this.peers = peers;
        this.weights = new WeightFetcher(context, peers.activity());
        this.verdicts = context.messageAdapter(Verifier.Scored.class, VerifierAnswered::new);
        this.consultations = new RetriedRequests<>(settings.retryAfter());
        this.checks = new RetriedRequests<>(settings.retryAfter());
        this.decoder = new ContinuousDecoder(replica.model, settings.sampling(), prompts.stopIds(),
                settings.decodeBatchSize(), this::isCritical);
        decoder.setWeightVersion(replica.version);
        peers.activity().register(BUSY_KIND);
        peers.weights().tell(new WeightServer.Subscribe(context.getSelf(), settings.sampling(), settings.base()));
        // After a restart whatever this sampler held is lost: the PromptSource hands it out again.
        peers.promptSource().tell(new PromptSource.SamplerReset(context.getSelf()));
        askForWork();
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Assigned.class, this::onAssigned)
                .onMessage(WeightsPublished.class, published -> {
                    weights.announced(published, replica.version);
                    return this;
                })
                .onMessage(WeightsFetched.class, this::onWeightsFetched)
                .onMessage(PriorAnswered.class, this::onPriorAnswered)
                .onMessage(VerifierAnswered.class, answered -> onScored(answered.scored()))
                .onMessage(Refused.class, refused -> {
                    throw new UserInputException(refused.reason());
                })
                .onMessageEquals(RetryCheck.INSTANCE, this::onRetryCheck)
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

    private Behavior<Command> onWeightsFetched(WeightsFetched f) {
        if (f.failure() != null) {
            // The supervisor restarts this sampler: its questions go to others, and it subscribes afresh.
            throw new IllegalStateException("could not fetch weight version " + f.version() + " after "
                    + weights.attempts() + " attempts", f.failure());
        }
        if (f.version() > replica.version && f.fetched().loadInto(replica.model)) {
            replica.version = f.version();
            decoder.setWeightVersion(replica.version);
            startReadyTasks();
            scheduleTick();
        }
        weights.finished(f.version(), replica.version);
        return this;
    }

    private Behavior<Command> onPriorAnswered(PriorAnswered answered) {
        // Answers to a retried consultation may come twice; only the first one counts.
        List<Long> ids = new ArrayList<>();
        List<ExperiencePrior.Draw> draws = new ArrayList<>();
        for (int i = 0; i < answered.sequenceIds().size(); i++) {
            long id = answered.sequenceIds().get(i);
            ExperiencePrior.Consultation asked = consultations.get(id);
            if (asked != null && asked.tokens().length == answered.positions().get(i)) {
                consultations.answered(id);
                ids.add(id);
                draws.add(answered.draws().get(i));
            }
        }
        afterFinished(decoder.resume(ids, draws));
        reportInFlight();
        scheduleTick();
        return this;
    }

    private Behavior<Command> onScored(Verifier.Scored scored) {
        Finished f = checks.answered(scored.sequenceId());
        if (f == null) {
            return this; // a retried check answered twice
        }
        peers.grouper().tell(new Grouper.Verified(f.slot().task(), f.slot().slot(), f.slot().prompt(), f.completion(),
                scored.reward(), scored.failure()));
        reportInFlight();
        return this;
    }

    /** Sends again what has waited its turn: the router picks a live prior or verifier. */
    private Behavior<Command> onRetryCheck() {
        List<ExperiencePrior.Consultation> again = consultations.due();
        if (!again.isEmpty()) {
            getContext().getLog().warn("no prior answer for {} sequence(s) within {} or more; asking again",
                    again.size(), settings.retryAfter());
            consult(again);
        }
        List<Finished> unscored = checks.due();
        if (!unscored.isEmpty()) {
            getContext().getLog().warn("no verdict for {} response(s) within {} or more; asking again",
                    unscored.size(), settings.retryAfter());
            unscored.forEach(f -> peers.verifiers().tell(f.check()));
        }
        return this;
    }

    private void consult(List<ExperiencePrior.Consultation> asks) {
        peers.prior().orElseThrow().tell(new PriorPolicy.Consult(asks, getContext().getSelf(), settings.sampling(),
                prompts.tokenizer().vocabulary()));
    }

    private Behavior<Command> onTick() {
        tickPending = false;
        if (decoder.canStep()) {
            ContinuousDecoder.StepResult step = peers.activity().measure(BUSY_KIND, decoder::step);
            if (!step.consultations().isEmpty()) {
                step.consultations().forEach(c -> consultations.sent(c.sequenceId(), c));
                consult(step.consultations());
            }
            afterFinished(step.finished());
        }
        reportInFlight();
        scheduleTick();
        return this;
    }

    /** Tells the node's activity how this sampler's unanswered consultations and unscored responses changed. */
    private void reportInFlight() {
        peers.activity().inFlight(consultations.size() - reportedConsultations, checks.size() - reportedChecks);
        reportedConsultations = consultations.size();
        reportedChecks = checks.size();
    }

    /** Whether sequence {@code id}'s position with this entropy is critical, by its question's plan. */
    private boolean isCritical(long id, double entropy) {
        return slots.get(id).task().plan().criticalPoints().isCritical(entropy);
    }

    /** Sends finished responses to be verified, frees their prior caches, and makes room for more work. */
    private void afterFinished(List<Generator.Completion> finished) {
        List<Long> consulted = new ArrayList<>();
        for (Generator.Completion c : finished) {
            Slot slot = slots.remove(c.id());
            Verifier.Check check = new Verifier.Check(c.id(), prompts.decode(c.tokens()), slot.task().problem().answer(),
                    verdicts);
            checks.sent(c.id(), new Finished(slot, c, check));
            peers.verifiers().tell(check);
            if (c.experience()) {
                consulted.add(c.id());
            }
        }
        if (!consulted.isEmpty()) {
            peers.prior().ifPresent(prior -> prior.tell(new PriorPolicy.Release(consulted, getContext().getSelf())));
        }
        if (!finished.isEmpty()) {
            askForWork();
        }
    }

    /** Starts held questions whose plan's weight version is loaded. */
    private void startReadyTasks() {
        while (!held.isEmpty() && held.peek().plan().minWeightVersion() <= replica.version) {
            GroupTask task = held.poll();
            if (task.plan().experienceResponses() > 0 && peers.prior().isEmpty()) {
                throw new UserInputException("step " + task.step() + " plans experience responses, but this sampler "
                        + "has no prior to consult (is the run's initial-ratio the same on every node?)");
            }
            long[] prompt = prompts.prompt(task.problem());
            List<Generator.Request> requests = GroupRollout.requests(replica.takeIds(settings.groupSize()),
                    settings.runSeed(), task.step(), task.question(), prompt, settings.groupSize(),
                    task.plan().experienceResponses(), settings.maxNewTokens()).subList(0, task.rollouts());
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
        peers.activity().inFlight(-reportedConsultations, -reportedChecks);
        reportedConsultations = 0;
        reportedChecks = 0;
        return this;
    }
}
