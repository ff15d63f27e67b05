package ai.eapo.algorithm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The learner's per-step decisions: which questions, their replacements, and how they are sampled. */
class StepPlannerTest {

    static final long SEED = 11;

    static HyperParameters hyper(String overrides) {
        return HyperParameters.fromConfig(ConfigFactory.parseString(overrides).withFallback(ConfigFactory.load()));
    }

    @Test
    void withoutStrategiesAStepTakesTheDatasetOrderAndItsReplacementsAreAFixedFunctionOfTheSeedAndPlace() {
        HyperParameters dynamic = hyper("eapo.algorithm { group-size = 4, experience { initial-ratio = 0.5, "
                + "anneal-steps = 10, entropy-threshold = 0.7 }, advantage { drop-uniform-groups = true, max-refills = 3 } }");
        StepPlanner planner = new StepPlanner(50, 3, SEED);
        StepPlan plan = planner.plan(4, dynamic, 1, null, new TreeMap<>());
        assertEquals(4, plan.step());
        assertEquals(TrainingBatches.indices(50, 4, 3, SEED), plan.questions().stream().map(StepPlan.Question::problemId).toList());
        for (StepPlan.Question q : plan.questions()) {
            assertEquals(4, q.rollouts());
            assertEquals(3, q.refills().size(), "one replacement per allowed refill");
        }
        assertEquals(plan, planner.plan(4, dynamic, 1, null, new TreeMap<>()), "a rerun plans the same");
        assertNotEquals(plan.questions().get(0).refills(), plan.questions().get(1).refills(),
                "each question draws its own replacements");
        RolloutPlan rollouts = plan.rollouts();
        assertEquals(dynamic.schedule().experienceCount(4, 4), rollouts.experienceResponses());
        assertEquals(0.7, rollouts.criticalPoints().entropyThreshold());
        assertEquals(3, rollouts.minWeightVersion(), "step 4 at max-staleness 1 may start on version 3");
        assertEquals(3, rollouts.refillsAllowed());
        assertEquals(0, RolloutPlan.of(hyper("eapo.algorithm.group-size = 4"), 4, 0).refillsAllowed(),
                "without dynamic sampling nothing is refilled");
    }

    @Test
    void aCurriculumChoosesTheBatchByRunningAccuracy() {
        // A narrow curriculum that has seen every question: only 4, 9 and 30 sit at the mean accuracy 0.5.
        HyperParameters expo = hyper("eapo.algorithm.expo.curriculum { enabled = true, sigma = 0.05, smoothing = 0.5 }");
        double[] accuracies = new double[50];
        Arrays.fill(accuracies, 1.0);
        for (int medium : new int[] {4, 9, 30}) {
            accuracies[medium] = 0.5;
        }
        QuestionCurriculum curriculum = QuestionCurriculum.of(accuracies, expo.strategies().curriculum());
        StepPlan plan = new StepPlanner(50, 3, SEED).plan(5, expo, 0, curriculum, new TreeMap<>());
        assertEquals(Set.of(4, 9, 30), plan.questions().stream().map(StepPlan.Question::problemId).collect(Collectors.toSet()));
    }

    @Test
    void exGrpoDrawsAShareOfTheStepFromTheReplayCandidatesAnsweredOnceLess() {
        HyperParameters exgrpo = hyper("eapo.algorithm { group-size = 4, experience.initial-ratio = 0, "
                + "exgrpo { enabled = true, ratio = 0.5 } }");
        TreeMap<Integer, Double> candidates = new TreeMap<>(java.util.Map.of(7, 0.5, 8, 0.25, 9, 0.75));
        StepPlan plan = new StepPlanner(50, 4, SEED).plan(2, exgrpo, 0, null, candidates);
        List<StepPlan.Question> questions = plan.questions();
        assertEquals(4, questions.size());
        assertEquals(List.of(4, 4, 3, 3), questions.stream().map(StepPlan.Question::rollouts).toList(),
                "the fresh questions first, then the experiential ones (G − 1 rollouts)");
        assertTrue(candidates.containsKey(questions.get(2).problemId()) && candidates.containsKey(questions.get(3).problemId()));
        assertEquals(ReplaySampling.sample(candidates, 2, RunSeeds.step(SEED, 2), exgrpo.strategies().exgrpo()),
                questions.subList(2, 4).stream().map(StepPlan.Question::problemId).toList());
        StepPlan empty = new StepPlanner(50, 4, SEED).plan(2, exgrpo, 0, null, new TreeMap<>());
        assertEquals(List.of(4, 4, 4, 4), empty.questions().stream().map(StepPlan.Question::rollouts).toList(),
                "before the delayed start every question is fresh");
    }
}
