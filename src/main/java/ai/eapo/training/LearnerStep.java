package ai.eapo.training;

import ai.eapo.algorithm.HyperParameters;
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
    private final AdamW optimizer;
    private final PolicyUpdate update;
    private Knobs knobs;
    private HyperParameters hyper;

    public LearnerStep(PolicyModel policy, HyperParameters hyper, Knobs knobs, int microBatchSize,
                       float logProbTemperature) {
        this.base = hyper;
        this.optimizer = new AdamW(policy.parameters(), hyper.optimizer());
        this.update = new PolicyUpdate(policy, optimizer, hyper.loss(), microBatchSize, logProbTemperature);
        setKnobs(knobs);
    }

    /**
     * Trains on {@code groups} at learner step {@code step} (the weights are version {@code step}).
     * {@code wallSeconds}, asked after the update: the step's wall time for tokens/s (sampling included).
     */
    public StepMetrics apply(long step, List<ScoredGroup> groups, DoubleSupplier wallSeconds) {
        List<Trajectory> trajectories = new ArrayList<>();
        for (ScoredGroup g : groups) {
            if (!(g.uniform() && hyper.advantage().dropUniformGroups())) {
                trajectories.addAll(g.trajectories());
            }
        }
        PolicyUpdate.Report report = trajectories.isEmpty() ? PolicyUpdate.Report.empty() : update.step(trajectories);
        return StepMetrics.of(step, knobs, hyper.schedule().ratioAt(step), groups, report, wallSeconds.getAsDouble());
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
