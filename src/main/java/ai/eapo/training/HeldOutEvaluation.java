package ai.eapo.training;

import ai.eapo.data.ProblemSet;
import ai.eapo.model.Generator;
import ai.eapo.model.NativeMemory;
import ai.eapo.model.PolicyModel;
import ai.eapo.model.SamplingParams;
import ai.eapo.verify.AnswerChecker;

import java.util.ArrayList;
import java.util.List;

/** Greedy accuracy of a policy on held-out problems: the number runs report before and after training. */
public final class HeldOutEvaluation {

    private static final SamplingParams GREEDY = new SamplingParams(0, 1, 0);

    private HeldOutEvaluation() {
    }

    public static double accuracy(PolicyModel policy, TaskPrompts prompts, AnswerChecker verifier,
                                  List<ProblemSet.Problem> problems, int maxNewTokens, int decodeBatchSize) {
        if (problems.isEmpty()) {
            return Double.NaN;
        }
        List<Generator.Request> requests = new ArrayList<>();
        for (int i = 0; i < problems.size(); i++) {
            requests.add(new Generator.Request(i, prompts.prompt(problems.get(i)), maxNewTokens, i));
        }
        List<Generator.Completion> out = new Generator(policy, GREEDY, prompts.stopIds(), decodeBatchSize)
                .generate(requests);
        double correct = 0;
        for (int i = 0; i < problems.size(); i++) {
            correct += verifier.verify(prompts.decode(out.get(i).tokens()), problems.get(i).answer()).reward();
        }
        NativeMemory.afterWork();
        return correct / problems.size();
    }
}
