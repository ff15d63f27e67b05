package ai.eapo.actors;

import ai.eapo.data.ProblemSet;
import ai.eapo.data.TrainingBatches;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import akka.actor.typed.receptionist.Receptionist;
import akka.actor.typed.receptionist.ServiceKey;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.HashSet;

/**
 * Hands out questions to samplers on demand, step by step through the dataset ({@link TrainingBatches}).
 * It never hands out a step's questions more than max-staleness versions ahead of the learner, remembers
 * which sampler holds which question, and re-issues a sampler's questions when it dies or restarts, so
 * no question is lost. A question is done when the Grouper reports its group complete.
 */
public final class PromptSource extends AbstractBehavior<PromptSource.Command> {

    /** How Samplers on other nodes find the PromptSource. */
    public static final ServiceKey<Command> SERVICE_KEY = ServiceKey.create(Command.class, "eapo-prompt-source");

    public sealed interface Command {
    }

    /** A sampler asks for up to {@code max} questions; they come back as {@link Sampler.Assigned}. */
    public record RequestGroups(int max, ActorRef<Sampler.Command> sampler) implements Command, CborSerializable {
    }

    /** The sampler lost its work (it restarted): everything it held is handed out again. */
    public record SamplerReset(ActorRef<Sampler.Command> sampler) implements Command, CborSerializable {
    }

    /** A question's group is complete; it will not be re-issued. */
    public record GroupCompleted(GroupTask.Key key) implements Command, CborSerializable {
    }

    /** Where the learner stands: its weight version and the max-staleness in force (after a step or a knob change). */
    public record LearnerProgress(long version, int maxStaleness) implements Command, CborSerializable {
    }

    private record SamplerStopped(ActorRef<Sampler.Command> sampler) implements Command {
    }

    private final List<ProblemSet.Problem> data;
    private final int questionsPerStep;
    private final long seed;
    private final long totalSteps;
    private final Deque<GroupTask> ready = new ArrayDeque<>();
    private final Map<GroupTask.Key, GroupTask> outstanding = new LinkedHashMap<>();
    private final Map<GroupTask.Key, ActorRef<Sampler.Command>> holder = new HashMap<>();
    private final Deque<RequestGroups> waitingDemand = new ArrayDeque<>();
    private final Set<ActorRef<Sampler.Command>> watched = new HashSet<>();
    private long nextStep;
    private long version;
    private int maxStaleness;

    /** {@code firstStep}: the learner step the run starts (or resumes) at; its weights are that version. */
    public static Behavior<Command> create(List<ProblemSet.Problem> data, int questionsPerStep, long seed,
                                           long firstStep, long totalSteps, int maxStaleness) {
        return Behaviors.setup(context -> {
            context.getSystem().receptionist().tell(Receptionist.register(SERVICE_KEY, context.getSelf()));
            return new PromptSource(context, data, questionsPerStep, seed, firstStep, totalSteps, maxStaleness);
        });
    }

    private PromptSource(ActorContext<Command> context, List<ProblemSet.Problem> data, int questionsPerStep, long seed,
                         long firstStep, long totalSteps, int maxStaleness) {
        super(context);
        this.data = data;
        this.questionsPerStep = questionsPerStep;
        this.seed = seed;
        this.nextStep = firstStep;
        this.version = firstStep;
        this.totalSteps = totalSteps;
        this.maxStaleness = maxStaleness;
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(RequestGroups.class, this::onRequest)
                .onMessage(GroupCompleted.class, this::onCompleted)
                .onMessage(LearnerProgress.class, this::onProgress)
                .onMessage(SamplerReset.class, r -> reissue(r.sampler()))
                .onMessage(SamplerStopped.class, s -> {
                    watched.remove(s.sampler());
                    getContext().getLog().info("sampler {} stopped", s.sampler().path());
                    return reissue(s.sampler());
                })
                .build();
    }

    private Behavior<Command> onRequest(RequestGroups request) {
        if (watched.add(request.sampler())) {
            getContext().watchWith(request.sampler(), new SamplerStopped(request.sampler()));
        }
        waitingDemand.removeIf(d -> d.sampler().equals(request.sampler()));
        waitingDemand.add(request);
        serveDemand();
        return this;
    }

    private Behavior<Command> onCompleted(GroupCompleted completed) {
        outstanding.remove(completed.key());
        holder.remove(completed.key());
        return this;
    }

    private Behavior<Command> onProgress(LearnerProgress progress) {
        version = Math.max(version, progress.version());
        maxStaleness = progress.maxStaleness();
        serveDemand();
        return this;
    }

    private Behavior<Command> reissue(ActorRef<Sampler.Command> sampler) {
        List<GroupTask> lost = new ArrayList<>();
        holder.forEach((key, s) -> {
            if (s.equals(sampler)) {
                lost.add(outstanding.get(key));
            }
        });
        for (int i = lost.size() - 1; i >= 0; i--) {
            GroupTask again = lost.get(i).nextAttempt();
            holder.remove(again.key());
            outstanding.put(again.key(), again);
            ready.addFirst(again);
        }
        if (!lost.isEmpty()) {
            getContext().getLog().info("re-issuing {} question(s) of a sampler that stopped or restarted", lost.size());
        }
        waitingDemand.removeIf(d -> d.sampler().equals(sampler));
        serveDemand();
        return this;
    }

    /** Answers waiting samplers while there are questions they may start. */
    private void serveDemand() {
        while (!waitingDemand.isEmpty()) {
            refill();
            if (ready.isEmpty()) {
                return;
            }
            RequestGroups demand = waitingDemand.poll();
            List<GroupTask> tasks = new ArrayList<>();
            while (tasks.size() < demand.max() && !ready.isEmpty()) {
                GroupTask task = ready.poll();
                holder.put(task.key(), demand.sampler());
                tasks.add(task);
            }
            demand.sampler().tell(new Sampler.Assigned(tasks));
        }
    }

    /** Opens the next step's batch when no question is ready and the learner is close enough. */
    private void refill() {
        if (!ready.isEmpty() || nextStep >= totalSteps || nextStep > version + maxStaleness) {
            return;
        }
        List<ProblemSet.Problem> batch = TrainingBatches.of(data, nextStep, questionsPerStep, seed);
        for (int q = 0; q < batch.size(); q++) {
            GroupTask task = new GroupTask(nextStep, q, batch.get(q), 0);
            outstanding.put(task.key(), task);
            ready.add(task);
        }
        nextStep++;
    }
}
