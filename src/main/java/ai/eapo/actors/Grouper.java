package ai.eapo.actors;

import ai.eapo.algorithm.AdvantageOptions;
import ai.eapo.algorithm.OverlongPenalty;
import ai.eapo.model.Generator;
import ai.eapo.training.RefilledGroup;
import ai.eapo.training.ScoredGroup;

import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Collects verified responses into groups (one attempt of one question each, of the task's rollouts), computes the
 * group's advantages when it is complete (with DAPO's overlong penalty when it is on), has a group without learning
 * signal refilled with another problem as often as its step's plan allows (DAPO dynamic sampling), and sends the
 * learner each data step's {@code questionsPerStep} groups as one batch, step after step: learner step k trains exactly the questions of data step k, so a run's position
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

        Pending(int rollouts, long[] prompt) {
            this.responses = new Generator.Completion[rollouts];
            this.rewards = new double[rollouts];
            this.prompt = prompt;
        }
    }

    /** How Samplers on other nodes find the Grouper. */
    public static final ServiceKey<Command> SERVICE_KEY = ServiceKey.create(Command.class, "eapo-grouper");

    private record AttemptKey(GroupTask.Key question, int attempt) {
    }

    private final int questionsPerStep;
    private final AdvantageOptions advantages;
    private final OverlongPenalty overlong;
    private final int maxNewTokens;
    private final ActorRef<Learner.Command> learner;
    private final ActorRef<PromptSource.Command> promptSource;
    private final Map<AttemptKey, Pending> pending = new HashMap<>();
    /** Complete groups of the steps not yet sent, by step and question. */
    private final TreeMap<GroupTask.Key, ScoredGroup> ready = new TreeMap<>(
            Comparator.comparingLong(GroupTask.Key::step).thenComparingInt(GroupTask.Key::question));
    /** The groups of the steps not yet sent that DAPO's dynamic sampling refilled, by step. */
    private final Map<Long, List<RefilledGroup>> refilled = new HashMap<>();
    /** The data step whose batch goes to the learner next. */
    private long nextStep;

    /**
     * {@code firstStep}: the step a run starts (or resumes) at; {@code maxNewTokens}: the generation length limit,
     * L_max of the overlong penalty.
     */
    public static Behavior<Command> create(int questionsPerStep, long firstStep, AdvantageOptions advantages,
                                           OverlongPenalty overlong, int maxNewTokens, ActorRef<Learner.Command> learner,
                                           ActorRef<PromptSource.Command> promptSource) {
        return Behaviors.setup(context -> {
            context.getSystem().receptionist().tell(Receptionist.register(SERVICE_KEY, context.getSelf()));
            return new Grouper(context, questionsPerStep, firstStep, advantages, overlong, maxNewTokens, learner,
                    promptSource);
        });
    }

    private Grouper(ActorContext<Command> context, int questionsPerStep, long firstStep, AdvantageOptions advantages,
                    OverlongPenalty overlong, int maxNewTokens, ActorRef<Learner.Command> learner,
                    ActorRef<PromptSource.Command> promptSource) {
        super(context);
        this.questionsPerStep = questionsPerStep;
        this.nextStep = firstStep;
        this.advantages = advantages;
        this.overlong = overlong;
        this.maxNewTokens = maxNewTokens;
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
            // Only after a fault: the other attempt of a re-issued question, or a step the learner trained again.
            getContext().getLog().info("dropped a late answer of step {} question {} slot {} (attempt {})",
                    question.step(), question.question(), v.slot(), v.task().attempt());
            return this;
        }
        AttemptKey key = new AttemptKey(question, v.task().attempt());
        Pending group = pending.computeIfAbsent(key, k -> new Pending(v.task().rollouts(), v.prompt()));
        if (group.responses[v.slot()] != null) {
            throw new IllegalStateException("slot " + v.slot() + " of " + key + " was answered twice");
        }
        group.responses[v.slot()] = v.completion();
        group.rewards[v.slot()] = v.reward();
        group.count++;
        if (group.count == group.responses.length) {
            pending.keySet().removeIf(k -> k.question().equals(question));
            ScoredGroup scored = ScoredGroup.of(question.step(), question.question(), v.task().problemId(), group.prompt,
                    List.of(group.responses), group.rewards, penalties(group.responses), advantages)
                    .withRefills(v.task().refills());
            if (v.task().plan().refills(scored.withoutSignal(advantages), v.task().refills())) {
                refilled.computeIfAbsent(question.step(), step -> new ArrayList<>())
                        .add(new RefilledGroup(v.task().problemId(), scored.accuracy()));
                promptSource.tell(new PromptSource.Refill(v.task()));
                return this;
            }
            ready.put(question, scored);
            promptSource.tell(new PromptSource.GroupCompleted(question));
            sendCompleteSteps();
        }
        return this;
    }

    /** DAPO's overlong penalty of each response (0 when it is off). */
    private double[] penalties(Generator.Completion[] responses) {
        return overlong.penalties(Arrays.stream(responses).mapToInt(c -> c.tokens().length).toArray(), maxNewTokens);
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
            List<RefilledGroup> refilledInStep = refilled.getOrDefault(nextStep, List.of());
            refilled.remove(nextStep);
            nextStep++;
            // Stragglers of the finished step's attempts will never complete.
            pending.keySet().removeIf(k -> k.question().step() < nextStep);
            learner.tell(new Learner.Train(batch, refilledInStep));
        }
    }
}
