package ai.eapo.actors;

import ai.eapo.algorithm.StepPlan;
import ai.eapo.data.ProblemSet;

import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Hands out the questions of the steps the Learner plans ({@link StepPlan}) to samplers on demand, in step order.
 * It decides nothing: the plan says which problems, how they are sampled and what refills a question DAPO's
 * dynamic sampling drops. It remembers which sampler holds which question and re-issues a sampler's questions
 * when it dies or restarts, so no question is lost. A question is done when the Grouper reports its group
 * complete.
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

    /**
     * The Learner's plan of a step: a new step's questions open; for a step already open (the knobs changed), the
     * questions stay and the ones not yet handed out are sampled under the new {@link StepPlan#rollouts()}.
     */
    public record Plan(StepPlan plan) implements Command, CborSerializable {
    }

    /** The question's group carried no learning signal: its plan's next refill takes its place. */
    public record Refill(GroupTask task) implements Command, CborSerializable {
    }

    private record SamplerStopped(ActorRef<Sampler.Command> sampler) implements Command {
    }

    private final List<ProblemSet.Problem> data;
    /** The plans of the steps with questions not yet complete. */
    private final Map<Long, StepPlan> plans = new HashMap<>();
    private final Deque<GroupTask> ready = new ArrayDeque<>();
    private final Map<GroupTask.Key, GroupTask> outstanding = new LinkedHashMap<>();
    private final Map<GroupTask.Key, ActorRef<Sampler.Command>> holder = new HashMap<>();
    private final Deque<RequestGroups> waitingDemand = new ArrayDeque<>();
    private final Set<ActorRef<Sampler.Command>> watched = new HashSet<>();
    /** The last step whose questions were opened (plans come in step order). */
    private long lastOpened = -1;

    private final PipelineActivity activity;

    /** {@code data}: the training problems the plans' problem ids point into. */
    public static Behavior<Command> create(List<ProblemSet.Problem> data) {
        return create(data, new PipelineActivity());
    }

    /** As {@link #create(List)}, reporting its queue depths to {@code activity}. */
    public static Behavior<Command> create(List<ProblemSet.Problem> data, PipelineActivity activity) {
        return Behaviors.setup(context -> {
            context.getSystem().receptionist().tell(Receptionist.register(SERVICE_KEY, context.getSelf()));
            return new PromptSource(context, data, activity);
        });
    }

    private PromptSource(ActorContext<Command> context, List<ProblemSet.Problem> data, PipelineActivity activity) {
        super(context);
        this.data = data;
        this.activity = activity;
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(RequestGroups.class, this::onRequest)
                .onMessage(Plan.class, this::onPlan)
                .onMessage(GroupCompleted.class, this::onCompleted)
                .onMessage(Refill.class, this::onRefill)
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

    private Behavior<Command> onPlan(Plan message) {
        StepPlan plan = message.plan();
        if (plan.step() <= lastOpened) {
            // A new plan of an open step: its questions stay, whatever is handed out from now on follows it.
            plans.computeIfPresent(plan.step(), (step, old) -> plan);
        } else {
            lastOpened = plan.step();
            plans.put(plan.step(), plan);
            List<StepPlan.Question> questions = plan.questions();
            for (int q = 0; q < questions.size(); q++) {
                StepPlan.Question question = questions.get(q);
                GroupTask task = GroupTask.first(plan.step(), q, question.problemId(), data.get(question.problemId()),
                        question.rollouts(), plan.rollouts());
                outstanding.put(task.key(), task);
                ready.add(task);
            }
        }
        serveDemand();
        return this;
    }

    private Behavior<Command> onCompleted(GroupCompleted completed) {
        outstanding.remove(completed.key());
        holder.remove(completed.key());
        long step = completed.key().step();
        if (outstanding.keySet().stream().noneMatch(k -> k.step() == step)) {
            plans.remove(step);
        }
        reportQueues();
        return this;
    }

    private Behavior<Command> onRefill(Refill refill) {
        GroupTask task = refill.task();
        if (!outstanding.containsKey(task.key())) {
            return this;
        }
        int other = plans.get(task.step()).questions().get(task.question()).refills().get(task.refills());
        GroupTask again = task.refilledWith(other, data.get(other));
        holder.remove(task.key());
        outstanding.put(task.key(), again);
        ready.addFirst(again);
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

    /** Answers waiting samplers while there are questions, each under its step's current plan. */
    private void serveDemand() {
        while (!waitingDemand.isEmpty() && !ready.isEmpty()) {
            RequestGroups demand = waitingDemand.poll();
            List<GroupTask> tasks = new ArrayList<>();
            while (tasks.size() < demand.max() && !ready.isEmpty()) {
                GroupTask task = ready.poll();
                holder.put(task.key(), demand.sampler());
                tasks.add(task.under(plans.get(task.step()).rollouts()));
            }
            reportQueues(); // before the answer, so whoever it reaches sees the queue as it now is
            demand.sampler().tell(new Sampler.Assigned(tasks));
        }
        reportQueues();
    }

    private void reportQueues() {
        activity.questions(ready.size(), outstanding.size() - ready.size());
    }
}
