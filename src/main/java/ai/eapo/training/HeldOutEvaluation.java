package ai.eapo.training;

import ai.eapo.data.ProblemSet;
import ai.eapo.model.Generator;
import ai.eapo.model.NativeMemory;
import ai.eapo.model.PolicyModel;
import ai.eapo.model.SamplingParams;
import ai.eapo.verify.AnswerChecker;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Greedy accuracy of a policy on held-out problems, overall and by difficulty level: the numbers runs report before,
 * during and after training.
 */
public final class HeldOutEvaluation {

    private static final SamplingParams GREEDY = new SamplingParams(0, 1, 0);

    private HeldOutEvaluation() {
    }

    /** Overall greedy accuracy, and by the problems' level (problems without a level count only overall). */
    public record Score(double accuracy, SortedMap<String, Double> byLevel) {
    }

    public static double accuracy(PolicyModel policy, TaskPrompts prompts, AnswerChecker verifier,
                                  List<ProblemSet.Problem> problems, int maxNewTokens, int decodeBatchSize) {
        return score(policy, prompts, verifier, problems, maxNewTokens, decodeBatchSize).accuracy();
    }

    public static Score score(PolicyModel policy, TaskPrompts prompts, AnswerChecker verifier,
                              List<ProblemSet.Problem> problems, int maxNewTokens, int decodeBatchSize) {
        if (problems.isEmpty()) {
            return new Score(Double.NaN, new TreeMap<>());
        }
        List<Generator.Request> requests = new ArrayList<>();
        for (int i = 0; i < problems.size(); i++) {
            requests.add(new Generator.Request(i, prompts.prompt(problems.get(i)), maxNewTokens, i));
        }
        List<Generator.Completion> out = new Generator(policy, GREEDY, prompts.stopIds(), decodeBatchSize)
                .generate(requests);
        double correct = 0;
        Map<String, double[]> levels = new TreeMap<>(); // level → {correct, problems}
        for (int i = 0; i < problems.size(); i++) {
            double reward = verifier.verify(prompts.decode(out.get(i).tokens()), problems.get(i).answer()).reward();
            correct += reward;
            String level = problems.get(i).level();
            if (level != null && !level.isBlank()) {
                double[] tally = levels.computeIfAbsent(level, k -> new double[2]);
                tally[0] += reward;
                tally[1]++;
            }
        }
        NativeMemory.afterWork();
        SortedMap<String, Double> byLevel = new TreeMap<>();
        levels.forEach((level, tally) -> byLevel.put(level, tally[0] / tally[1]));
        return new Score(correct / problems.size(), byLevel);
    }
}
