package ai.eapo.actors;

import ai.eapo.UserInputException;
import ai.eapo.algorithm.CurriculumOptions;
import ai.eapo.algorithm.QuestionCurriculum;
import ai.eapo.algorithm.ReplayOptions;
import ai.eapo.algorithm.Strategies;
import ai.eapo.data.ProblemSet;
import ai.eapo.data.TrainingBatches;
import ai.eapo.training.ReplayBuffer;

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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.HashSet;
import java.util.SortedMap;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.random.RandomGenerator;

/**
 * Hands out questions to samplers on demand, step by step: each step's batch follows the dataset
 * ({@link TrainingBatches}), or EXPO's Gaussian curriculum over the questions' running accuracy when it is on;
 * with ExGRPO a share ρ of each batch are experiential questions drawn from the learner's replay buffer.
 * It never hands out a step's questions more than max-staleness versions ahead of the learner, remembers
 * which sampler holds which question, and re-issues a sampler's questions when it dies or restarts, so
 * no question is lost. A question is done when the Grouper reports its group complete; a question whose group
 * had no learning signal may be refilled with another problem (DAPO dynamic sampling).
 */
public final class PromptSource extends AbstractBehavior<PromptSource.Command> {

    /** How Samplers on other nodes find the PromptSource. */
    public static final ServiceKey<Command> SERVICE_KEY = ServiceKey.create(Command.class, "eapo-prompt-source");

    /** Spread a step's and a question's bits over the seed (large odd 64-bit constants, the golden ratio's first). */
    private static final long STEP_SEED_MIX = 0x9E3779B97F4A7C15L;
    private static final long QUESTION_SEED_MIX = 0xBF58476D1CE4E5B9L;

    public sealed interface Command {
    }

    /** A sampler asks for up to {@code max} questions; they come back as {@link Sampler.Assigned}. */
    public record RequestGroups(int max, ActorRef<Sampler.Command> sampler) implements Command, CborSerializable {
    }

    /** The sampler lost its work (it restarted): everything it held is handed out again. */
    public record SamplerReset(ActorRef<Sampler.Command> sampler) implements Command, CborSerializable {
    }

    /** A question's group is complete, with this share of correct responses; it will not be re-issued. */
    public record GroupCompleted(GroupTask.Key key, double accuracy) implements Command, CborSerializable {
    }

    /**
     * ExGRPO: the questions the learner's replay buffer can serve, with their latest accuracy (empty before the
     * delayed start). Steps opened from now on draw their experiential questions from these.
     */
    public record ReplayCandidates(SortedMap<Integer, Double> accuracies) implements Command, CborSerializable {
    }

    /**
     * The question's group carried no learning signal (all its responses right, or all wrong): DAPO dynamic
     * sampling puts another problem in its place. {@code accuracy} (0 or 1) reaches the curriculum all the same.
     */
    public record Refill(GroupTask task, double accuracy) implements Command, CborSerializable {
    }

    /**
     * EXPO's curriculum: the learner asks for the running accuracies, which it keeps for its checkpoints; the answer
     * is a {@link Learner.CurriculumSnapshot}.
     */
    public record ReportCurriculum(ActorRef<Learner.Command> replyTo) implements Command, CborSerializable {
    }

    /** Where the learner stands: its weight version and the max-staleness in force (after a step or a knob change). */
    public record LearnerProgress(long version, int maxStaleness) implements Command, CborSerializable {
    }

    private record SamplerStopped(ActorRef<Sampler.Command> sampler) implements Command {
    }

    private final List<ProblemSet.Problem> data;
    private final int questionsPerStep;
    private final int groupSize;
    private final long seed;
    private final ReplayOptions replay;
    /** EXPO's Gaussian curriculum over the data, or null when off (then batches follow {@link TrainingBatches}). */
    private final QuestionCurriculum curriculum;
    private SortedMap<Integer, Double> replayCandidates = new TreeMap<>();
    private final long totalSteps;
    private final Deque<GroupTask> ready = new ArrayDeque<>();
    private final Map<GroupTask.Key, GroupTask> outstanding = new LinkedHashMap<>();
    private final Map<GroupTask.Key, ActorRef<Sampler.Command>> holder = new HashMap<>();
    private final Deque<RequestGroups> waitingDemand = new ArrayDeque<>();
    private final Set<ActorRef<Sampler.Command>> watched = new HashSet<>();
    private long nextStep;
    private long version;
    private int maxStaleness;

    /**
     * {@code firstStep}: the learner step the run starts (or resumes) at; its weights are that version.
     * {@code resumedCurriculum}: the curriculum a resumed run saved, or null to start every question unseen.
     */
    public static Behavior<Command> create(List<ProblemSet.Problem> data, int questionsPerStep, int groupSize,
                                           long seed, long firstStep, long totalSteps, int maxStaleness,
                                           Strategies strategies, QuestionCurriculum resumedCurriculum) {
        if (strategies.curriculum().enabled() && data.size() < questionsPerStep) {
            throw new UserInputException(CurriculumOptions.KEY_ENABLED + " = true draws " + questionsPerStep
                    + " distinct questions per step, but the training data has only " + data.size());
        }
        if (strategies.curriculum().enabled() && resumedCurriculum != null
                && resumedCurriculum.questions() != data.size()) {
            throw new UserInputException("the checkpoint's curriculum covers " + resumedCurriculum.questions()
                    + " questions, but the training data has " + data.size() + ": is this the run's dataset?");
        }
        return Behaviors.setup(context -> {
            context.getSystem().receptionist().tell(Receptionist.register(SERVICE_KEY, context.getSelf()));
            // Its own copy: the actor mutates it.
            QuestionCurriculum curriculum = !strategies.curriculum().enabled() ? null
                    : resumedCurriculum != null
                    ? QuestionCurriculum.of(resumedCurriculum.accuracies(), strategies.curriculum())
                    : new QuestionCurriculum(data.size(), strategies.curriculum());
            return new PromptSource(context, data, questionsPerStep, groupSize, seed, firstStep, totalSteps,
                    maxStaleness, strategies.exgrpo(), curriculum);
        });
    }

    private PromptSource(ActorContext<Command> context, List<ProblemSet.Problem> data, int questionsPerStep,
                         int groupSize, long seed, long firstStep, long totalSteps, int maxStaleness,
                         ReplayOptions replay, QuestionCurriculum curriculum) {
        super(context);
        this.data = data;
        this.questionsPerStep = questionsPerStep;
        this.groupSize = groupSize;
        this.replay = replay;
        this.curriculum = curriculum;
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
                .onMessage(Refill.class, this::onRefill)
                .onMessage(ReplayCandidates.class, c -> {
                    replayCandidates = c.accuracies();
                    return this;
                })
                .onMessage(ReportCurriculum.class, report -> {
                    if (curriculum != null) {
                        report.replyTo().tell(new Learner.CurriculumSnapshot(curriculum.accuracies()));
                    }
                    return this;
                })
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
        GroupTask task = outstanding.remove(completed.key());
        if (task != null) {
            observe(task, completed.accuracy());
        }
        holder.remove(completed.key());
        return this;
    }

    /** A question's group accuracy, for the curriculum; an ExGRPO group (one replayed slot) is not the policy's. */
    private void observe(GroupTask task, double accuracy) {
        if (curriculum != null && task.rollouts() == groupSize) {
            curriculum.observe(task.problemId(), accuracy);
        }
    }

    private Behavior<Command> onRefill(Refill refill) {
        GroupTask.Key key = refill.task().key();
        if (!outstanding.containsKey(key)) {
            return this;
        }
        observe(refill.task(), refill.accuracy());
        // A fixed function of the run seed and the question's place, so a rerun refills with the same problems.
        long mix = key.step() * STEP_SEED_MIX + key.question() * QUESTION_SEED_MIX + refill.task().refills();
        int other = new SplittableRandom(seed ^ mix).nextInt(data.size());
        GroupTask again = refill.task().refilledWith(other, data.get(other));
        holder.remove(key);
        outstanding.put(key, again);
        ready.addFirst(again);
        serveDemand();
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
        // One generator per step, a fixed function of the run seed and the step.
        RandomGenerator random = new SplittableRandom(seed ^ (nextStep * STEP_SEED_MIX));
        List<Integer> experiential = replay.enabled() ? ReplayBuffer.sample(replayCandidates,
                (int) Math.round(replay.ratio() * questionsPerStep), random, replay) : List.of();
        int fresh = questionsPerStep - experiential.size();
        List<Integer> batch = curriculum != null ? curriculum.select(fresh, random)
                : TrainingBatches.indices(data.size(), nextStep, questionsPerStep, seed).subList(0, fresh);
        int q = 0;
        for (int problem : batch) {
            open(GroupTask.first(nextStep, q++, problem, data.get(problem), groupSize));
        }
        // An experiential question's group is completed by the learner with a replayed trajectory.
        for (int problem : experiential) {
            open(GroupTask.first(nextStep, q++, problem, data.get(problem), groupSize - 1));
        }
        nextStep++;
    }

    private void open(GroupTask task) {
        outstanding.put(task.key(), task);
        ready.add(task);
    }
}
