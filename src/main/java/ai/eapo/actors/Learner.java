package ai.eapo.actors;

import ai.eapo.UserInputException;
import ai.eapo.algorithm.StepPlan;
import ai.eapo.algorithm.StepPlanner;
import ai.eapo.model.PolicyModel;
import ai.eapo.model.WeightSnapshot;
import ai.eapo.training.Knobs;
import ai.eapo.training.LearnerStep;
import ai.eapo.training.RefilledGroup;
import ai.eapo.training.ScoredGroup;
import ai.eapo.training.StepMetrics;

import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Owns the trainable weights, the optimizer, the authoritative knobs and everything decided per step. It plans
 * each step ({@link StepPlan}, through {@link LearnerStep#plan}) as soon as samplers may start it (max-staleness
 * versions ahead) and hands the plan to the PromptSource; each {@code Train} batch is then one IS-corrected step
 * ({@link LearnerStep#apply}), after which the new weight version goes to the WeightServer, which serves it to
 * the samplers. A run may start (resume) at any step: the learner publishes the weights it starts with, so
 * samplers of any node begin from them. {@code SetKnobs} is validated here: a valid change applies from the next
 * step, and the steps already planned are planned again (their questions stay; what is handed out from then on
 * follows the new plan); an invalid one is refused with its reason and changes nothing. After the last step it
 * reports the run finished and ignores further batches.
 */
public final class Learner extends AbstractBehavior<Learner.Command> {

    /** How a client ({@code eapo-node ctl}) finds the learner. */
    public static final ServiceKey<Command> SERVICE_KEY = ServiceKey.create(Command.class, "eapo-learner");

    public sealed interface Command {
    }

    /** One step's groups, and the groups DAPO's dynamic sampling refilled on the way. */
    public record Train(List<ScoredGroup> groups, List<RefilledGroup> refilled) implements Command, CborSerializable {
    }

    /** Changes knobs by name ({@code tau}, {@code annealing-steps}, ...), all or nothing. */
    public record SetKnobs(Map<String, String> changes, ActorRef<KnobsReply> replyTo) implements Command, CborSerializable {
    }

    public record GetKnobs(ActorRef<KnobsReply> replyTo) implements Command, CborSerializable {
    }

    /**
     * The knobs in force after the request; {@code refusal} is null when accepted. A change takes effect
     * at learner step {@code effectiveStep}.
     */
    public record KnobsReply(Map<String, String> knobs, String refusal, long effectiveStep) implements CborSerializable {
    }

    /** What the learner reports, called on its own thread. */
    public interface Listener {
        /** For a node without the learner role, whose pipeline never trains. */
        Listener NONE = new Listener() {
            @Override
            public void onStep(StepMetrics metrics) {
            }

            @Override
            public void onKnobsChanged(long effectiveStep, Knobs knobs) {
            }

            @Override
            public void onFinished() {
            }
        };

        void onStep(StepMetrics metrics);

        void onKnobsChanged(long effectiveStep, Knobs knobs);

        void onFinished();
    }

    private static final String BUSY_KIND = "learner";

    private final PolicyModel policy;
    private final LearnerStep learning;
    private final StepPlanner planner;
    private final long totalSteps;
    private final ActorRef<WeightServer.Command> weights;
    private final ActorRef<PromptSource.Command> promptSource;
    private final Listener listener;
    private final PipelineActivity activity;
    /** The plans of the steps not yet trained, by step. */
    private final TreeMap<Long, StepPlan> planned = new TreeMap<>();
    /** The step trained next; the policy's weights are that version. */
    private long step;
    private long lastStepNanos = System.nanoTime();

    /** {@code firstStep}: the step the run starts or resumes at; the policy's weights are that version. */
    public static Behavior<Command> create(PolicyModel policy, LearnerStep learning, StepPlanner planner, long firstStep,
                                           long totalSteps, ActorRef<WeightServer.Command> weights,
                                           ActorRef<PromptSource.Command> promptSource, Listener listener, PipelineActivity activity) {
        return Behaviors.setup(context -> {
            context.getSystem().receptionist().tell(Receptionist.register(SERVICE_KEY, context.getSelf()));
            return new Learner(context, policy, learning, planner, firstStep, totalSteps, weights, promptSource,
                    listener, activity);
        });
    }

    private Learner(ActorContext<Command> context, PolicyModel policy, LearnerStep learning, StepPlanner planner,
                    long firstStep, long totalSteps, ActorRef<WeightServer.Command> weights,
                    ActorRef<PromptSource.Command> promptSource, Listener listener, PipelineActivity activity) {
        super(context);
        this.activity = activity;
        activity.register(BUSY_KIND);
        this.policy = policy;
        this.learning = learning;
        this.planner = planner;
        this.step = firstStep;
        this.totalSteps = totalSteps;
        this.weights = weights;
        this.promptSource = promptSource;
        this.listener = listener;
        publish();
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Train.class, this::onTrain)
                .onMessage(SetKnobs.class, this::onSetKnobs)
                .onMessage(GetKnobs.class, get -> {
                    get.replyTo().tell(new KnobsReply(learning.knobs().asMap(), null, step));
                    return this;
                })
                .build();
    }

    private Behavior<Command> onTrain(Train train) {
        if (step >= totalSteps) {
            return this;
        }
        StepMetrics metrics = activity.measure(BUSY_KIND,
                () -> learning.apply(step, train.groups(), train.refilled(), this::secondsSinceLastStep));
        planned.remove(step);
        step++;
        publish();
        listener.onStep(metrics);
        if (step == totalSteps) {
            listener.onFinished();
        }
        return this;
    }

    /** Wall time of one step cycle, from the end of the previous step to the end of this one. */
    private double secondsSinceLastStep() {
        long now = System.nanoTime();
        double seconds = (now - lastStepNanos) / 1e9;
        lastStepNanos = now;
        return seconds;
    }

    /**
     * Hands the WeightServer the new version (it owns the snapshot from here on: a live view of the policy, valid
     * until its next update), then plans the steps samplers may now start.
     */
    private void publish() {
        weights.tell(new WeightServer.Publish(WeightSnapshot.live(policy, step)));
        planAhead();
    }

    /** Plans every step up to max-staleness versions ahead of the weights that is not planned yet. */
    private void planAhead() {
        long last = Math.min(totalSteps - 1, step + learning.knobs().maxStaleness());
        for (long s = planned.isEmpty() ? step : planned.lastKey() + 1; s <= last; s++) {
            StepPlan plan = learning.plan(s, planner);
            planned.put(s, plan);
            promptSource.tell(new PromptSource.Plan(plan));
        }
    }

    private Behavior<Command> onSetKnobs(SetKnobs set) {
        Knobs changed;
        try {
            changed = learning.changed(set.changes());
        } catch (UserInputException e) {
            set.replyTo().tell(new KnobsReply(learning.knobs().asMap(), e.getMessage(), step));
            return this;
        }
        learning.setKnobs(changed);
        planned.replaceAll((s, plan) -> learning.replanned(plan));
        planned.values().forEach(plan -> promptSource.tell(new PromptSource.Plan(plan)));
        planAhead();
        getContext().getLog().info("knobs changed from step {}: {}", step, changed.asMap());
        listener.onKnobsChanged(step, changed);
        set.replyTo().tell(new KnobsReply(changed.asMap(), null, step));
        return this;
    }
}
