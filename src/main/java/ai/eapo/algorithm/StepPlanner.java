package ai.eapo.algorithm;

import ai.eapo.algorithm.TrainingBatches;

import java.util.ArrayList;
import java.util.List;
import java.util.SortedMap;
import java.util.random.RandomGenerator;

/**
 * Plans learner steps ({@link StepPlan}) for a run over {@code dataSize} training problems, {@code questionsPerStep}
 * questions a step: pure functions of the run seed, the step, the options in force and the learner's state (EXPO's
 * curriculum, ExGRPO's replay candidates). The learner's side owns that state and calls it; the synchronous loop
 * and the actor pipeline both plan here, which is what lets one reproduce the other.
 */
public final class StepPlanner {

    private final int dataSize;
    private final int questionsPerStep;
    private final long seed;

    public StepPlanner(int dataSize, int questionsPerStep, long seed) {
        if (dataSize < 1 || questionsPerStep < 1) {
            throw new IllegalArgumentException("a step needs data and questions, got " + dataSize + " problems, "
                    + questionsPerStep + " questions per step");
        }
        this.dataSize = dataSize;
        this.questionsPerStep = questionsPerStep;
        this.seed = seed;
    }

    /** How many training problems the run draws from (the curriculum keeps one accuracy each). */
    public int dataSize() {
        return dataSize;
    }

    /**
     * The plan of learner step {@code step} under {@code hyper} (the knobs applied) and {@code maxStaleness}.
     * {@code curriculum}: EXPO's running accuracies, or null when the curriculum is off (the batch follows the
     * dataset's order, {@link TrainingBatches}). {@code replayCandidates}: the questions ExGRPO's buffer can serve
     * with their latest accuracy (empty before its delayed start or when ExGRPO is off); a share ρ of the step's
     * questions are drawn from them, answered G − 1 times, after the fresh ones.
     */
    public StepPlan plan(long step, HyperParameters hyper, int maxStaleness, QuestionCurriculum curriculum,
                         SortedMap<Integer, Double> replayCandidates) {
        int groupSize = hyper.groupSize();
        ReplayOptions replay = hyper.strategies().exgrpo();
        RandomGenerator random = RunSeeds.step(seed, step);
        List<Integer> experiential = replay.enabled() ? ReplaySampling.sample(replayCandidates,
                (int) Math.round(replay.ratio() * questionsPerStep), random, replay) : List.of();
        int fresh = questionsPerStep - experiential.size();
        List<Integer> batch = curriculum != null ? curriculum.select(fresh, random)
                : TrainingBatches.indices(dataSize, step, questionsPerStep, seed).subList(0, fresh);
        RolloutPlan rollouts = RolloutPlan.of(hyper, step, maxStaleness);
        List<StepPlan.Question> questions = new ArrayList<>(questionsPerStep);
        for (int problem : batch) {
            questions.add(new StepPlan.Question(problem, groupSize, refills(step, questions.size(), rollouts)));
        }
        for (int problem : experiential) {
            questions.add(new StepPlan.Question(problem, groupSize - 1, refills(step, questions.size(), rollouts)));
        }
        return new StepPlan(step, questions, rollouts);
    }

    /** The problems that take question {@code question}'s place at its 1st, 2nd, ... refill. */
    private List<Integer> refills(long step, int question, RolloutPlan rollouts) {
        List<Integer> refills = new ArrayList<>(rollouts.refillsAllowed());
        for (int r = 0; r < rollouts.refillsAllowed(); r++) {
            refills.add(RunSeeds.refill(seed, step, question, r).nextInt(dataSize));
        }
        return refills;
    }

    /**
     * β of the KL penalty at a step whose responses were {@code batchAccuracy} correct: EXPO's β(accuracy) when
     * accuracy-conditioned scaling is on, else {@code kl.coef}. Decided after sampling, so not part of the plan.
     */
    public static double klCoefficient(HyperParameters hyper, double batchAccuracy) {
        AdaptiveKl adaptive = hyper.strategies().adaptiveKl();
        if (!adaptive.enabled()) {
            return hyper.loss().klCoef();
        }
        return adaptive.coefficient(Double.isNaN(batchAccuracy) ? 0 : batchAccuracy);
    }
}
