package ai.eapo.actors;

import ai.eapo.UserInputException;
import ai.eapo.model.PolicyModel;
import ai.eapo.model.WeightSnapshot;
import ai.eapo.training.Knobs;
import ai.eapo.training.LearnerStep;
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

/**
 * Owns the trainable weights, the optimizer and the authoritative knobs. Each {@code Train} batch is one
 * IS-corrected step ({@link LearnerStep}); the learner then hands the new weight version to the WeightServer,
 * which serves it to the samplers, and tells the PromptSource how far it has got (with ExGRPO, also which questions
 * its replay buffer can serve; with EXPO's curriculum, it asks for the running accuracies, which its checkpoints
 * keep). A run may start (resume) at
 * any step: the learner publishes the weights it starts with, so samplers of any node begin from them. {@code SetKnobs} is validated here: a valid change applies
 * from the next step and is published to every sampler; an invalid one is refused with its reason and
 * changes nothing. After the last step it reports the run finished and ignores further batches.
 */
public final class Learner extends AbstractBehavior<Learner.Command> {

    /** How a client ({@code eapo-node ctl}) finds the learner. */
    public static final ServiceKey<Command> SERVICE_KEY = ServiceKey.create(Command.class, "eapo-learner");

    public sealed interface Command {
    }

    /** One step's groups. */
    public record Train(List<ScoredGroup> groups) implements Command, CborSerializable {
    }

    /** Changes knobs by name ({@code tau}, {@code annealing-steps}, ...), all or nothing. */
    public record SetKnobs(Map<String, String> changes, ActorRef<KnobsReply> replyTo) implements Command, CborSerializable {
    }

    public record GetKnobs(ActorRef<KnobsReply> replyTo) implements Command, CborSerializable {
    }

    /**
     * EXPO's curriculum as the PromptSource has it (running accuracy per question, NaN = unseen), kept for the
     * learner checkpoints so a resumed run draws from where it was.
     */
    public record CurriculumSnapshot(double[] accuracies) implements Command, CborSerializable {
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
    private final LearnerStep learner;
    private final long totalSteps;
    private final ActorRef<WeightServer.Command> weights;
    private final ActorRef<PromptSource.Command> promptSource;
    private final Listener listener;
    private final BusyTime busy;
    private long version;
    private long lastStepNanos = System.nanoTime();

    /** {@code firstStep}: the step the run starts or resumes at; the policy's weights are that version. */
    public static Behavior<Command> create(PolicyModel policy, LearnerStep learner, long firstStep, long totalSteps,
                                           ActorRef<WeightServer.Command> weights,
                                           ActorRef<PromptSource.Command> promptSource, Listener listener, BusyTime busy) {
        return Behaviors.setup(context -> {
            context.getSystem().receptionist().tell(Receptionist.register(SERVICE_KEY, context.getSelf()));
            return new Learner(context, policy, learner, firstStep, totalSteps, weights, promptSource, listener, busy);
        });
    }

    private Learner(ActorContext<Command> context, PolicyModel policy, LearnerStep learner, long firstStep,
                    long totalSteps, ActorRef<WeightServer.Command> weights, ActorRef<PromptSource.Command> promptSource,
                    Listener listener, BusyTime busy) {
        super(context);
        this.busy = busy;
        busy.register(BUSY_KIND);
        this.policy = policy;
        this.learner = learner;
        this.version = firstStep;
        this.totalSteps = totalSteps;
        this.weights = weights;
        this.promptSource = promptSource;
        this.listener = listener;
        weights.tell(new WeightServer.PublishKnobs(learner.knobs()));
        publish();
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Train.class, this::onTrain)
                .onMessage(SetKnobs.class, this::onSetKnobs)
                .onMessage(CurriculumSnapshot.class, snapshot -> {
                    learner.keepCurriculum(snapshot.accuracies());
                    return this;
                })
                .onMessage(GetKnobs.class, get -> {
                    get.replyTo().tell(new KnobsReply(learner.knobs().asMap(), null, version));
                    return this;
                })
                .build();
    }

    private Behavior<Command> onTrain(Train train) {
        if (version >= totalSteps) {
            return this;
        }
        StepMetrics metrics = busy.measure(BUSY_KIND,
                () -> learner.apply(version, train.groups(), this::secondsSinceLastStep));
        version++;
        publish();
        listener.onStep(metrics);
        if (version == totalSteps) {
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

    /** The WeightServer owns the snapshot from here on: a live view of the policy, valid until its next update. */
    private void publish() {
        weights.tell(new WeightServer.Publish(WeightSnapshot.live(policy, version)));
        if (learner.replay() != null) {
            // Before the progress, so the steps it opens already draw from the newest buffer.
            promptSource.tell(new PromptSource.ReplayCandidates(learner.replay().candidates()));
        }
        promptSource.tell(new PromptSource.LearnerProgress(version, learner.knobs().maxStaleness()));
        if (learner.hyper().strategies().curriculum().enabled()) {
            promptSource.tell(new PromptSource.ReportCurriculum(getContext().getSelf()));
        }
    }

    private Behavior<Command> onSetKnobs(SetKnobs set) {
        Knobs changed;
        try {
            changed = learner.changed(set.changes());
        } catch (UserInputException e) {
            set.replyTo().tell(new KnobsReply(learner.knobs().asMap(), e.getMessage(), version));
            return this;
        }
        learner.setKnobs(changed);
        weights.tell(new WeightServer.PublishKnobs(changed));
        promptSource.tell(new PromptSource.LearnerProgress(version, changed.maxStaleness()));
        getContext().getLog().info("knobs changed from step {}: {}", version, changed.asMap());
        listener.onKnobsChanged(version, changed);
        set.replyTo().tell(new KnobsReply(changed.asMap(), null, version));
        return this;
    }
}
