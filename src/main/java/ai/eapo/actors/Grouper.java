package ai.eapo.actors;

import ai.eapo.algorithm.AdvantageOptions;
import ai.eapo.model.Generator;
import ai.eapo.training.ScoredGroup;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import akka.actor.typed.receptionist.Receptionist;
import akka.actor.typed.receptionist.ServiceKey;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Collects verified responses into groups of G (one attempt of one question each), computes the group's
 * advantages when it is complete, and sends the learner each data step's {@code questionsPerStep} groups as
 * one batch, step after step: learner step k trains exactly the questions of data step k, so a run's position
 * in the data is its step (what a resumed run needs) and every question is trained once. Responses of an
 * attempt whose question is already complete, or of a step already trained, are dropped.
 */
public final class Grouper extends AbstractBehavior<Grouper.Command> {

    public sealed interface Command {
    }

    /** A scored response; {@code failure} is non-null when verification failed (reward 0). */
    public record Verified(GroupTask task, int slot, long[] prompt, Generator.Completion completion, double reward,
                           String failure) implements Command, CborSerializable {
    }

    /** One attempt of one question, being filled. */
    private static final class Pending {
        final Generator.Completion[] responses;
        final double[] rewards;
        final long[] prompt;
        int count;

        Pending(int groupSize, long[] prompt) {
            this.responses = new Generator.Completion[groupSize];
            this.rewards = new double[groupSize];
            this.prompt = prompt;
        }
    }

    /** How Samplers on other nodes find the Grouper. */
    public static final ServiceKey<Command> SERVICE_KEY = ServiceKey.create(Command.class, "eapo-grouper");

    private record AttemptKey(GroupTask.Key question, int attempt) {
    }

    private final int groupSize;
    private final int questionsPerStep;
    private final AdvantageOptions advantages;
    private final ActorRef<Learner.Command> learner;
    private final ActorRef<PromptSource.Command> promptSource;
    private final Map<AttemptKey, Pending> pending = new HashMap<>();
    /** Complete groups of the steps not yet sent, by step and question. */
    private final TreeMap<GroupTask.Key, ScoredGroup> ready = new TreeMap<>(
            Comparator.comparingLong(GroupTask.Key::step).thenComparingInt(GroupTask.Key::question));
    /** The data step whose batch goes to the learner next. */
    private long nextStep;

    /** {@code firstStep}: the step a run starts (or resumes) at. */
    public static Behavior<Command> create(int groupSize, int questionsPerStep, long firstStep,
                                           AdvantageOptions advantages, ActorRef<Learner.Command> learner,
                                           ActorRef<PromptSource.Command> promptSource) {
        return Behaviors.setup(context -> {
            context.getSystem().receptionist().tell(Receptionist.register(SERVICE_KEY, context.getSelf()));
            return new Grouper(context, groupSize, questionsPerStep, firstStep, advantages, learner, promptSource);
        });
    }

    private Grouper(ActorContext<Command> context, int groupSize, int questionsPerStep, long firstStep,
                    AdvantageOptions advantages, ActorRef<Learner.Command> learner,
                    ActorRef<PromptSource.Command> promptSource) {
        super(context);
        this.groupSize = groupSize;
        this.questionsPerStep = questionsPerStep;
        this.nextStep = firstStep;
        this.advantages = advantages;
        this.learner = learner;
        this.promptSource = promptSource;
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder().onMessage(Verified.class, this::onVerified).build();
    }

    private Behavior<Command> onVerified(Verified v) {
        GroupTask.Key question = v.task().key();
        if (question.step() < nextStep || ready.containsKey(question)) {
            return this;
        }
        AttemptKey key = new AttemptKey(question, v.task().attempt());
        Pending group = pending.computeIfAbsent(key, k -> new Pending(groupSize, v.prompt()));
        if (group.responses[v.slot()] != null) {
            throw new IllegalStateException("slot " + v.slot() + " of " + key + " was answered twice");
        }
        group.responses[v.slot()] = v.completion();
        group.rewards[v.slot()] = v.reward();
        group.count++;
        if (group.count == groupSize) {
            pending.keySet().removeIf(k -> k.question().equals(question));
            ready.put(question, ScoredGroup.of(question.step(), question.question(), group.prompt,
                    List.of(group.responses), group.rewards, advantages));
            promptSource.tell(new PromptSource.GroupCompleted(question));
            sendCompleteSteps();
        }
        return this;
    }

    /** Sends every step, in order, whose questions are all complete. */
    private void sendCompleteSteps() {
        while (true) {
            var step = ready.subMap(new GroupTask.Key(nextStep, 0), new GroupTask.Key(nextStep + 1, 0));
            if (step.size() < questionsPerStep) {
                return;
            }
            List<ScoredGroup> batch = new ArrayList<>(step.values());
            step.clear();
            nextStep++;
            // Stragglers of the finished step's attempts will never complete.
            pending.keySet().removeIf(k -> k.question().step() < nextStep);
            learner.tell(new Learner.Train(batch));
        }
    }
}
