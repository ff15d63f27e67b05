package ai.eapo.training;

import ai.eapo.algorithm.AdaptiveKl;
import ai.eapo.algorithm.HyperParameters;
import ai.eapo.algorithm.LossOptions;
import ai.eapo.algorithm.QuestionCurriculum;
import ai.eapo.model.NativeMemory;
import ai.eapo.model.PolicyModel;

import java.util.ArrayList;
import java.util.List;
import java.util.function.DoubleSupplier;

/**
 * The learner's side of a GRPO / EAPO step, shared by the synchronous loop and the Learner actor: scored
 * groups in, one IS-corrected update out, with the step's metrics. It holds the live knobs; a change
 * takes effect from the next step.
 */
public final class LearnerStep implements AutoCloseable {

    private final HyperParameters base;
    private final PolicyModel policy;
    private final AdamW optimizer;
    private final PolicyUpdate update;
    /** ExGRPO's buffer and delayed-start switch; null when ExGRPO is off. */
    private ExperienceReplay replay;
    /** The newest snapshot of EXPO's curriculum (the PromptSource owns the live one); null when none came yet. */
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
     * Trains on {@code groups} at learner step {@code step} (the weights are version {@code step}).
     * {@code wallSeconds}, asked after the update: the step's wall time for tokens/s (sampling included).
     */
    public StepMetrics apply(long step, List<ScoredGroup> scored, DoubleSupplier wallSeconds) {
        List<ScoredGroup> groups = replay == null ? scored
                : replay.complete(scored, policy, hyper.groupSize(), hyper.advantage());
        List<Trajectory> trajectories = new ArrayList<>();
        for (ScoredGroup g : groups) {
            if (!(hyper.advantage().dropUniformGroups() && g.withoutSignal(hyper.advantage()))) {
                trajectories.addAll(g.trajectories());
            }
        }
        double klCoef = klCoefficient(groups);
        PolicyUpdate.Report report = trajectories.isEmpty() ? PolicyUpdate.Report.empty()
                : update.step(trajectories, klCoef, step);
        if (replay != null) {
            replay.record(groups, step);
        }
        NativeMemory.afterWork();
        return StepMetrics.of(step, knobs, hyper.schedule().ratioAt(step), klCoef, groups, hyper.advantage(), report,
                wallSeconds.getAsDouble(), replay == null ? null : replay.stats());
    }

    /** β of the KL penalty: EXPO's β(batch accuracy) when accuracy-conditioned scaling is on, else kl.coef. */
    private double klCoefficient(List<ScoredGroup> groups) {
        AdaptiveKl adaptive = hyper.strategies().adaptiveKl();
        if (!adaptive.enabled()) {
            return hyper.loss().klCoef();
        }
        double accuracy = ScoredGroup.accuracy(groups);
        return adaptive.coefficient(Double.isNaN(accuracy) ? 0 : accuracy);
    }

    /**
     * The knobs after {@code changes} (by knob name), validated for this run: besides each knob's own range, a run
     * that started without experience (initial-ratio 0: GRPO, or ExGRPO) loaded no prior, so it cannot turn
     * experience on.
     *
     * @throws ai.eapo.UserInputException naming the offending knob and value; nothing changes
     */
    public Knobs changed(java.util.Map<String, String> changes) {
        Knobs changed = knobs.with(changes);
        if (base.schedule().initialRatio() == 0 && changed.initialRatio() > 0) {
            throw new ai.eapo.UserInputException(Knobs.INITIAL_RATIO + " = " + changed.initialRatio() + ": this run "
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
     * EXPO's curriculum as last reported by the PromptSource, or as a resumed checkpoint saved it; null when the
     * curriculum is off or nothing was reported yet. Saved by {@link LearnerCheckpoints}.
     */
    public QuestionCurriculum curriculum() {
        return curriculum;
    }

    /** Keeps a snapshot of the curriculum's running accuracies (NaN = unseen) for the next checkpoint. */
    public void keepCurriculum(double[] accuracies) {
        this.curriculum = QuestionCurriculum.of(accuracies, base.strategies().curriculum());
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
