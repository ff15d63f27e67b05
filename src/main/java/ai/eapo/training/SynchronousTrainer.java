package ai.eapo.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.eapo.algorithm.HyperParameters;
import ai.eapo.algorithm.RolloutPlan;
import ai.eapo.data.ProblemSet;
import ai.eapo.model.ExperiencePrior;
import ai.eapo.model.Generator;
import ai.eapo.model.PolicyModel;
import ai.eapo.model.SamplingParams;
import ai.eapo.verify.AnswerChecker;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * The synchronous reference loop — sample a batch → verify → group → update — built from the algorithm
 * pieces. It makes the tiny prior, and it is what the asynchronous actor pipeline is checked against.
 * Also the supervised (SFT) step that makes the tiny base model, on the same optimizer.
 */
public final class SynchronousTrainer {

    /** Rollout and batching settings of the loop. */
    public record Options(int maxNewTokens, SamplingParams sampling, MicroBatching microBatching, int decodeBatchSize,
                          long seed) {
    }

    private final PolicyModel policy;
    private final TaskPrompts prompts;
    private final ExperiencePrior prior;
    private final AnswerChecker verifier;
    private final Options options;
    private final LearnerStep learner;

    /** {@code prior} may be null for plain GRPO (then α must be 0). */
    public SynchronousTrainer(PolicyModel policy, TaskPrompts prompts, ExperiencePrior prior, HyperParameters hyper,
                              AnswerChecker verifier, Options options) {
        if (prior == null && hyper.usesExperience()) {
            throw new ai.eapo.UserInputException("experience initial-ratio is " + hyper.schedule().initialRatio()
                    + " but no prior model is given (use --prior, or initial-ratio = 0 for plain GRPO)");
        }
        if (hyper.strategies().exgrpo().enabled() || hyper.strategies().curriculum().enabled()) {
            throw new ai.eapo.UserInputException("the synchronous loop (train-sync) does not run ExGRPO or the EXPO "
                    + "curriculum (they choose questions as training goes); use train");
        }
        try {
            hyper.strategies().overlong().requireFits(options.maxNewTokens());
        } catch (IllegalArgumentException e) {
            throw new ai.eapo.UserInputException(e.getMessage());
        }
        this.policy = policy;
        this.prompts = prompts;
        this.prior = prior;
        this.verifier = verifier;
        this.options = options;
        this.learner = new LearnerStep(policy, hyper, Knobs.initial(hyper, 0), options.microBatching(),
                options.sampling().logProbTemperature());
    }

    /** One GRPO / EAPO step at learner step {@code step} on a batch of problems. */
    public StepMetrics step(long step, List<ProblemSet.Problem> batch) {
        long start = System.nanoTime();
        HyperParameters hyper = learner.hyper();
        int groupSize = hyper.groupSize();
        RolloutPlan plan = RolloutPlan.of(hyper, step, 0);
        List<Generator.Request> requests = new ArrayList<>();
        for (int q = 0; q < batch.size(); q++) {
            requests.addAll(GroupRollout.requests((long) q * groupSize, options.seed(), step, q,
                    prompts.prompt(batch.get(q)), groupSize, plan.experienceResponses(), options.maxNewTokens()));
        }
        Generator.Experience experience = prior == null ? null
                : new Generator.Experience(prior, plan.criticalPoints()::isCritical);
        List<Generator.Completion> completions = new Generator(policy, options.sampling(), prompts.stopIds(),
                options.decodeBatchSize(), experience).generate(requests, step);

        List<ScoredGroup> groups = new ArrayList<>();
        for (int q = 0; q < batch.size(); q++) {
            List<Generator.Completion> responses = completions.subList(q * groupSize, (q + 1) * groupSize);
            double[] rewards = new double[groupSize];
            for (int j = 0; j < groupSize; j++) {
                rewards[j] = verifier.verify(prompts.decode(responses.get(j).tokens()), batch.get(q).answer()).reward();
            }
            double[] penalties = hyper.strategies().overlong().penalties(
                    responses.stream().mapToInt(c -> c.tokens().length).toArray(), options.maxNewTokens());
            groups.add(ScoredGroup.of(step, q, ScoredGroup.UNKNOWN_PROBLEM, requests.get(q * groupSize).prompt(), responses,
                    rewards, penalties, hyper.advantage()));
        }
        return learner.apply(step, groups, () -> (System.nanoTime() - start) / 1e9);
    }

    /** One supervised step: cross-entropy of each problem's solution (and end token) after its prompt. */
    public AdamW.StepReport supervisedStep(List<ProblemSet.Problem> batch) {
        List<long[]> sequences = new ArrayList<>();
        List<Integer> promptLengths = new ArrayList<>();
        long targets = 0;
        for (ProblemSet.Problem p : batch) {
            long[] prompt = prompts.prompt(p);
            long[] answer = prompts.tokenizer().encode(p.solution());
            long[] seq = java.util.Arrays.copyOf(prompt, prompt.length + answer.length + 1);
            System.arraycopy(answer, 0, seq, prompt.length, answer.length);
            seq[seq.length - 1] = prompts.eos();
            sequences.add(seq);
            promptLengths.add(prompt.length);
            targets += answer.length + 1;
        }
        final float denominator = targets;
        List<Function<NDManager, AdamW.Loss>> microBatches = new ArrayList<>();
        int microBatchSize = options.microBatching().responses();
        for (int from = 0; from < sequences.size(); from += microBatchSize) {
            int to = Math.min(sequences.size(), from + microBatchSize);
            List<long[]> part = sequences.subList(from, to);
            List<Integer> partPrompts = promptLengths.subList(from, to);
            microBatches.add(m -> {
                int length = part.stream().mapToInt(s -> s.length - 1).max().orElseThrow();
                long[] ids = new long[part.size() * length];
                long[] next = new long[part.size() * length];
                float[] mask = new float[part.size() * length];
                for (int r = 0; r < part.size(); r++) {
                    long[] s = part.get(r);
                    System.arraycopy(s, 0, ids, r * length, s.length - 1);
                    System.arraycopy(s, 1, next, r * length, s.length - 1);
                    for (int t = partPrompts.get(r) - 1; t < s.length - 1; t++) {
                        mask[r * length + t] = 1f;
                    }
                }
                Shape shape = new Shape(part.size(), length);
                return AdamW.Loss.of(SupervisedLoss.of(policy, m.create(ids, shape), m.create(next, shape),
                        m.create(mask, shape), denominator));
            });
        }
        return learner.optimizer().step(microBatches);
    }

    /** Greedy accuracy on held-out problems (the number the tiny models are made to). */
    public double accuracy(List<ProblemSet.Problem> problems) {
        return HeldOutEvaluation.accuracy(policy, prompts, verifier, problems, options.maxNewTokens(), options.decodeBatchSize());
    }
}
