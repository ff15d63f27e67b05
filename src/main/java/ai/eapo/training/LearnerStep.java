package ai.eapo.training;

import ai.eapo.UserInputException;
import ai.eapo.algorithm.AdaptiveKl;
import ai.eapo.algorithm.HyperParameters;
import ai.eapo.algorithm.LossOptions;
import ai.eapo.algorithm.QuestionCurriculum;
import ai.eapo.algorithm.RolloutPlan;
import ai.eapo.algorithm.StepPlan;
import ai.eapo.algorithm.StepPlanner;
import ai.eapo.model.NativeMemory;
import ai.eapo.model.PolicyModel;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.DoubleSupplier;

/**
 * The learner's side of a GRPO / EAPO step, shared by the synchronous loop and the Learner actor: it plans each
 * step ({@link #plan}: which questions, how they are sampled), and turns the step's scored groups into one
 * IS-corrected update with the step's metrics ({@link #apply}). It holds the live knobs (a change takes effect
 * from the next step) and the state only planning and training need, which its checkpoints keep: EXPO's
 * curriculum and ExGRPO's replay buffer.
 */
public final class LearnerStep implements AutoCloseable {

    private final HyperParameters base;
    private final PolicyModel policy;
    private final AdamW optimizer;
    private final PolicyUpdate update;
    /** ExGRPO's buffer and delayed-start switch; null when ExGRPO is off. */
    private ExperienceReplay replay;
    /** EXPO's running accuracy per question; null when the curriculum is off or no step was planned yet. */
    private QuestionCurriculum curriculum;
    private Knobs knobs;
    private HyperParameters hyper;

    public LearnerStep(PolicyModel policy, HyperParameters hyper, Knobs knobs, MicroBatching microBatching,
                       float logProbTemperature) {
        this(policy, null, hyper, knobs, microBatching, logProbTemperature);
    }

    /** {@code reference}: the frozen π_ref of the KL penalty; required when {@link HyperParameters#needsReference()}. */
    public LearnerStep(PolicyModel policy, PolicyModel reference, HyperParameters hyper, Knobs knobs,
                       MicroBatching microBatching, float logProbTemperature) {
        if (hyper.needsReference() && reference == null) {
            throw new IllegalArgumentException("the KL penalty (" + LossOptions.KEY_KL_COEF + " > 0 or "
                    + AdaptiveKl.KEY_ENABLED + ") needs a reference model, and none was given");
        }
        this.base = hyper;
        this.policy = policy;
        this.replay = hyper.strategies().exgrpo().enabled()
                ? new ExperienceReplay(hyper.strategies().exgrpo(), logProbTemperature, microBatching.logitsChunk()) : null;
        this.optimizer = new AdamW(policy, hyper.optimizer());
        this.update = new PolicyUpdate(policy, reference, optimizer, hyper.loss(), microBatching,
                hyper.optimizer().miniBatches(), hyper.optimizer().epochs(), logProbTemperature);
        setKnobs(knobs);
    }

    /**
     * The plan of learner step {@code step} under the knobs in force. The curriculum (when on) starts with every
     * question of {@code planner}'s data unseen, unless a resumed checkpoint brought one.
     *
     * @throws UserInputException when a resumed curriculum covers another number of questions than the data
     */
    public StepPlan plan(long step, StepPlanner planner) {
        if (hyper.strategies().curriculum().enabled()) {
            if (curriculum == null) {
                curriculum = new QuestionCurriculum(planner.dataSize(), hyper.strategies().curriculum());
            } else if (curriculum.questions() != planner.dataSize()) {
                throw new UserInputException("the checkpoint's curriculum covers " + curriculum.questions()
                        + " questions, but the training data has " + planner.dataSize() + ": is this the run's dataset?");
            }
        }
        return planner.plan(step, hyper, knobs.maxStaleness(), curriculum,
                replay == null ? new TreeMap<>() : replay.candidates());
    }

    /** {@code plan} (of a step not trained yet) with its rollouts as the knobs in force decide them; same questions. */
    public StepPlan replanned(StepPlan plan) {
        return plan.withRollouts(RolloutPlan.of(hyper, plan.step(), knobs.maxStaleness()));
    }

    /** {@link #apply(long, List, List, DoubleSupplier)} of a step none of whose groups were refilled. */
    public StepMetrics apply(long step, List<ScoredGroup> scored, DoubleSupplier wallSeconds) {
        return apply(step, scored, List.of(), wallSeconds);
    }

    /**
     * Trains on {@code scored} at learner step {@code step} (the weights are version {@code step}); {@code refilled}:
     * the groups DAPO's dynamic sampling refilled with other problems, whose accuracy the curriculum still hears of.
     * {@code wallSeconds}, asked after the update: the step's wall time for tokens/s (sampling included).
     */
    public StepMetrics apply(long step, List<ScoredGroup> scored, List<RefilledGroup> refilled,
                             DoubleSupplier wallSeconds) {
        observeCurriculum(scored, refilled);
        List<ScoredGroup> groups = replay == null ? scored
                : replay.complete(scored, policy, hyper.groupSize(), hyper.advantage());
        List<Trajectory> trajectories = new ArrayList<>();
        for (ScoredGroup g : groups) {
            if (g.trainedOn(hyper.advantage())) {
                trajectories.addAll(g.trajectories());
            }
        }
        double klCoef = StepPlanner.klCoefficient(hyper, ScoredGroup.accuracy(groups));
        PolicyUpdate.Report report = trajectories.isEmpty() ? PolicyUpdate.Report.empty()
                : update.step(trajectories, klCoef, step);
        if (replay != null) {
            replay.record(groups, step);
        }
        NativeMemory.afterWork();
        return StepMetrics.of(step, knobs, hyper.schedule().ratioAt(step), klCoef, groups, hyper.advantage(), report,
                wallSeconds.getAsDouble(), replay == null ? null : replay.stats());
    }

    /**
     * EXPO's curriculum hears of each question's group accuracy: the refilled groups' too (always- and never-solved
     * questions are exactly the ones it should push down), an ExGRPO group's not (one of its responses is replayed,
     * not the policy's).
     */
    private void observeCurriculum(List<ScoredGroup> scored, List<RefilledGroup> refilled) {
        if (curriculum == null) {
            return;
        }
        for (RefilledGroup r : refilled) {
            curriculum.observe(r.problemId(), r.accuracy());
        }
        for (ScoredGroup g : scored) {
            if (g.responses().size() == hyper.groupSize()) {
                curriculum.observe(g.problemId(), g.accuracy());
            }
        }
    }

    /**
     * The knobs after {@code changes} (by knob name), validated for this run: besides each knob's own range, a run
     * that started without experience (initial-ratio 0: GRPO, or ExGRPO) loaded no prior, so it cannot turn
     * experience on.
     *
     * @throws ai.eapo.UserInputException naming the offending knob and value; nothing changes
     */
    public Knobs changed(Map<String, String> changes) {
        Knobs changed = knobs.with(changes);
        if (!base.usesExperience() && changed.initialRatio() > 0) {
            throw new UserInputException(Knobs.INITIAL_RATIO + " = " + changed.initialRatio() + ": this run "
                    + "started with initial-ratio 0, so no prior was loaded; start an EAPO run to use experience");
        }
        return changed;
    }

    /** Applies new knobs from the next step on (they are valid by construction). */
    public void setKnobs(Knobs knobs) {
        this.knobs = knobs;
        this.hyper = knobs.applyTo(base);
        optimizer.setLearningRate(knobs.learningRate());
    }

    /** The optimizer, shared with the supervised step and saved / restored by {@link LearnerCheckpoints}. */
    AdamW optimizer() {
        return optimizer;
    }

    /** ExGRPO's replay state, or null when ExGRPO is off; saved and restored by {@link LearnerCheckpoints}. */
    public ExperienceReplay replay() {
        return replay;
    }

    /** Replaces the replay state with a restored one (a resumed run). */
    void restoreReplay(ExperienceReplay restored) {
        this.replay = restored;
    }

    /**
     * EXPO's running accuracies, live (the next plan draws from them); null when the curriculum is off or no step
     * was planned yet. Saved by {@link LearnerCheckpoints}.
     */
    public QuestionCurriculum curriculum() {
        return curriculum;
    }

    /** Takes the curriculum a resumed checkpoint saved (read with this run's options). */
    void restoreCurriculum(QuestionCurriculum restored) {
        this.curriculum = restored;
    }

    public Knobs knobs() {
        return knobs;
    }

    /** The algorithm options in force (τ, T, α_0 from the knobs). */
    public HyperParameters hyper() {
        return hyper;
    }

    @Override
    public void close() {
        optimizer.close();
    }
}
