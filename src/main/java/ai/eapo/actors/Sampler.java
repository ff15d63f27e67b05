package ai.eapo.actors;

import ai.eapo.UserInputException;
import ai.eapo.algorithm.HyperParameters;
import ai.eapo.model.CheckpointIdentity;
import ai.eapo.model.ContinuousDecoder;
import ai.eapo.model.ExperiencePrior;
import ai.eapo.model.Generator;
import ai.eapo.model.SamplingParams;
import ai.eapo.model.WeightBytes;
import ai.eapo.model.WeightLayout;
import ai.eapo.training.GroupRollout;
import ai.eapo.training.Knobs;
import ai.eapo.training.TaskPrompts;

import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.PreRestart;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CompletableFuture;

/**
 * Owns a policy replica and decodes a continuous batch, one decode step per {@code Tick} message so that
 * questions, weight versions, knobs and prior answers are handled between steps. Experience-augmented
 * sequences at critical positions are parked and their questions sent to the PriorPolicy in one message
 * per step; the rest of the batch keeps decoding. Finished responses go to the Verifier pool, and with
 * their rewards to the Grouper. A consultation or check unanswered for {@code retry-after} is sent again
 * (its prior or verifier may have died); answers are matched by sequence (and position), so a duplicate
 * changes nothing.
 *
 * <p>It pulls questions from the PromptSource while it has room, and starts a question of step k only
 * when its weights are at least version k − max-staleness. It subscribes to the learner's WeightServer and
 * fetches each newer version it is told of, loading it between two decode steps.
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

    /** The learner's knobs changed. */
    public record KnobsChanged(Knobs knobs) implements Command, CborSerializable {
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

    /** A verifier's reward for a finished sequence; {@code failure} is non-null when the check failed (reward 0). */
    public record Scored(long sequenceId, double reward, String failure) implements Command, CborSerializable {
    }

    /**
     * The end of fetching version {@code version}: the verified bytes (from another node), the shared snapshot
     * (in the learner's JVM), {@link WeightServer.Superseded}, or the failure of the last attempt.
     */
    private record WeightsFetched(long version, Object fetched, Throwable failure) implements Command {
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
                           int maxSequencesInFlight, long runSeed, HyperParameters hyper, Duration retryAfter,
                           CheckpointIdentity base) {
    }

    /** Where a sampler's work comes from and goes to; {@code prior} is null for plain GRPO. */
    public record Peers(ActorRef<PromptSource.Command> promptSource, ActorRef<PriorPolicy.Command> prior,
                        ActorRef<Verifier.Command> verifiers, ActorRef<Grouper.Command> grouper,
                        ActorRef<WeightServer.Command> weights, BusyTime busy) {
    }

    static final String BUSY_KIND = "sampler";

    /** Which question and slot a sequence answers. */
    private record Slot(GroupTask task, int slot, long[] prompt) {
    }

    /** A request sent to another actor and not yet answered, with when it was (last) sent. */
    private static final class Unanswered<T> {
        final T request;
        long sentNanos = System.nanoTime();
        /** retry-after times this before the next retry: doubles after each, up to {@link #RETRY_BACKOFF_LIMIT}. */
        int backoff = 1;

        Unanswered(T request) {
            this.request = request;
        }

        /** Whether it has waited its turn at {@code now}; if so, counts a retry sent now. */
        boolean due(long now, long retryAfterNanos) {
            if (now - sentNanos < backoff * retryAfterNanos) {
                return false;
            }
            sentNanos = now;
            backoff = Math.min(2 * backoff, RETRY_BACKOFF_LIMIT);
            return true;
        }
    }

    /**
     * The longest wait before a retry, in retry-afters: a prior slower than retry-after (a large one on a busy
     * node) would otherwise be sent the same consultation every retry-after, each one re-prefilled, and fall
     * further behind with each; a lost message to a dead node is still sent again within this many.
     */
    private static final int RETRY_BACKOFF_LIMIT = 8;

    /** A finished response waiting for its reward, and the check asking for it. */
    private record Finished(Slot slot, Generator.Completion completion, Unanswered<Verifier.Check> check) {
    }

    private final SamplerReplica replica;
    private final TaskPrompts prompts;
    private final Settings settings;
    private final Peers peers;
    private final ContinuousDecoder decoder;
    private final Map<Long, Slot> slots = new HashMap<>();
    private final Map<Long, Unanswered<ExperiencePrior.Consultation>> consulting = new HashMap<>();
    private final Map<Long, Finished> awaitingReward = new HashMap<>();
    private final Deque<GroupTask> held = new ArrayDeque<>();
    private final WeightTransfer transfer;
    private boolean demandOutstanding;
    private boolean tickPending;
    /** The newest version announced, and whether a fetch is running. */
    private WeightsPublished latest;
    private boolean fetching;

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
        this.transfer = new WeightTransfer(context.getSystem());
        this.decoder = new ContinuousDecoder(replica.model, settings.sampling(), prompts.stopIds(),
                settings.decodeBatchSize(), this::isCritical);
        decoder.setWeightVersion(replica.version);
        peers.busy().register(BUSY_KIND);
        peers.weights().tell(new WeightServer.Subscribe(context.getSelf(), settings.sampling(), settings.base()));
        // After a restart whatever this sampler held is lost: the PromptSource hands it out again.
        peers.promptSource().tell(new PromptSource.SamplerReset(context.getSelf()));
        askForWork();
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Assigned.class, this::onAssigned)
                .onMessage(WeightsPublished.class, this::onWeights)
                .onMessage(WeightsFetched.class, this::onWeightsFetched)
                .onMessage(KnobsChanged.class, this::onKnobs)
                .onMessage(PriorAnswered.class, this::onPriorAnswered)
                .onMessage(Scored.class, this::onScored)
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

    private Behavior<Command> onWeights(WeightsPublished published) {
        if (latest == null || published.version() > latest.version()) {
            latest = published;
        }
        fetchLatest();
        return this;
    }

    /**
     * Fetches the newest announced version unless it is loaded or a fetch is running: a transfer that fails
     * (corrupt, short, broken, timed out) is retried after a pause, and nothing but verified bytes is loaded.
     */
    private void fetchLatest() {
        if (fetching || latest == null || latest.version() <= replica.version) {
            return;
        }
        fetching = true;
        WeightsPublished target = latest;
        CompletionStage<Object> fetched = transfer.withRetries(attempt -> AskPattern.<WeightServer.Command, WeightServer.Offer>ask(
                        target.server(), replyTo -> new WeightServer.Fetch(target.version(), replyTo),
                        transfer.settings().timeout(), getContext().getSystem().scheduler())
                .thenCompose(offer -> offer instanceof WeightServer.Streamed streamed
                        ? transfer.receive(streamed).thenApply(bytes -> (Object) bytes)
                        : CompletableFuture.completedStage(offer)));
        getContext().pipeToSelf(fetched, (result, failure) -> new WeightsFetched(target.version(), result, failure));
    }

    private Behavior<Command> onWeightsFetched(WeightsFetched f) {
        fetching = false;
        if (f.failure() != null) {
            // The supervisor restarts this sampler: its questions go to others, and it subscribes afresh.
            throw new IllegalStateException("could not fetch weight version " + f.version() + " after "
                    + transfer.settings().attempts() + " attempts", f.failure());
        }
        boolean loaded = false;
        if (f.version() > replica.version && f.fetched() instanceof WeightBytes bytes) {
            bytes.loadInto(replica.model);
            loaded = true;
        } else if (f.version() > replica.version && f.fetched() instanceof WeightServer.Shared shared) {
            loaded = shared.snapshot().loadInto(replica.model); // false: freed, a newer version is announced
        }
        if (loaded) {
            replica.version = f.version();
            decoder.setWeightVersion(replica.version);
            startReadyTasks();
            scheduleTick();
        }
        if (latest.version() > f.version()) {
            fetchLatest(); // announced meanwhile; a superseded fetch waits for the announcement of the newer one
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
        // Answers to a retried consultation may come twice; only the first one counts.
        List<Long> ids = new ArrayList<>();
        List<ExperiencePrior.Draw> draws = new ArrayList<>();
        for (int i = 0; i < answered.sequenceIds().size(); i++) {
            long id = answered.sequenceIds().get(i);
            Unanswered<ExperiencePrior.Consultation> asked = consulting.get(id);
            if (asked != null && asked.request.tokens().length == answered.positions().get(i)) {
                consulting.remove(id);
                ids.add(id);
                draws.add(answered.draws().get(i));
            }
        }
        afterFinished(decoder.resume(ids, draws));
        scheduleTick();
        return this;
    }

    private Behavior<Command> onScored(Scored scored) {
        Finished f = awaitingReward.remove(scored.sequenceId());
        if (f == null) {
            return this; // a retried check answered twice
        }
        peers.grouper().tell(new Grouper.Verified(f.slot().task(), f.slot().slot(), f.slot().prompt(), f.completion(),
                scored.reward(), scored.failure()));
        return this;
    }

    /** Sends again what has waited longer than retry-after: the router picks a live prior or verifier. */
    private Behavior<Command> onRetryCheck() {
        long now = System.nanoTime();
        long limit = settings.retryAfter().toNanos();
        List<ExperiencePrior.Consultation> again = new ArrayList<>();
        for (Unanswered<ExperiencePrior.Consultation> u : consulting.values()) {
            if (u.due(now, limit)) {
                again.add(u.request);
            }
        }
        if (!again.isEmpty()) {
            getContext().getLog().warn("no prior answer for {} sequence(s) within {} or more; asking again",
                    again.size(), settings.retryAfter());
            peers.prior().tell(new PriorPolicy.Consult(again, getContext().getSelf(), settings.sampling(),
                    prompts.tokenizer().vocabulary()));
        }
        int checks = 0;
        for (Finished f : awaitingReward.values()) {
            Unanswered<Verifier.Check> u = f.check();
            if (u.due(now, limit)) {
                peers.verifiers().tell(u.request);
                checks++;
            }
        }
        if (checks > 0) {
            getContext().getLog().warn("no verdict for {} response(s) within {} or more; asking again", checks,
                    settings.retryAfter());
        }
        return this;
    }

    private Behavior<Command> onTick() {
        tickPending = false;
        if (decoder.canStep()) {
            ContinuousDecoder.StepResult step = peers.busy().measure(BUSY_KIND, decoder::step);
            if (!step.consultations().isEmpty()) {
                step.consultations().forEach(c -> consulting.put(c.sequenceId(), new Unanswered<>(c)));
                peers.prior().tell(new PriorPolicy.Consult(step.consultations(), getContext().getSelf(), settings.sampling(),
                    prompts.tokenizer().vocabulary()));
            }
            afterFinished(step.finished());
        }
        scheduleTick();
        return this;
    }

    private boolean isCritical(double entropy) {
        return settings.hyper().criticalPoints().withThreshold(replica.knobs.tau()).isCritical(entropy);
    }

    /** Sends finished responses to be verified, frees their prior caches, and makes room for more work. */
    private void afterFinished(List<Generator.Completion> finished) {
        List<Long> consulted = new ArrayList<>();
        for (Generator.Completion c : finished) {
            Slot slot = slots.remove(c.id());
            Verifier.Check check = new Verifier.Check(c.id(), prompts.decode(c.tokens()), slot.task().problem().answer(),
                    getContext().getSelf());
            awaitingReward.put(c.id(), new Finished(slot, c, new Unanswered<>(check)));
            peers.verifiers().tell(check);
            if (c.experience()) {
                consulted.add(c.id());
            }
        }
        if (!consulted.isEmpty() && peers.prior() != null) {
            peers.prior().tell(new PriorPolicy.Release(consulted, getContext().getSelf()));
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
                    settings.maxNewTokens()).subList(0, task.rollouts());
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
