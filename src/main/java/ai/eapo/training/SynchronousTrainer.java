package ai.eapo.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.eapo.algorithm.GroupAdvantages;
import ai.eapo.algorithm.HyperParameters;
import ai.eapo.data.ProblemSet;
import ai.eapo.model.ExperiencePrior;
import ai.eapo.model.Generator;
import ai.eapo.model.PolicyModel;
import ai.eapo.model.SamplingParams;
import ai.eapo.verify.MathVerifier;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Function;

/**
 * The synchronous reference loop — sample a batch → verify → group → update — built from the algorithm
 * pieces. It makes the tiny prior, and it is what the asynchronous actor pipeline is checked against.
 * Also the supervised (SFT) step that makes the tiny base model, on the same optimizer.
 */
public final class SynchronousTrainer {

    /** Rollout and batching settings of the loop. */
    public record Options(int maxNewTokens, SamplingParams sampling, int microBatchSize, int decodeBatchSize, long seed) {
    }

    /** One step's numbers, as the metrics line reports them. */
    public record StepMetrics(long step, double alpha, double tau, double rewardMean, double accuracy,
                              double eaAccuracy, double resampledRatio, double entropyMean, double loss,
                              double gradNorm, double clipFraction, double isWeightMean, boolean skipped,
                              long tokens) {
    }

    private final PolicyModel policy;
    private final TaskPrompts prompts;
    private final ExperiencePrior prior;
    private final HyperParameters hyper;
    private final MathVerifier verifier;
    private final Options options;
    private final AdamW optimizer;
    private final PolicyUpdate update;

    /** {@code prior} may be null for plain GRPO (then α must be 0). */
    public SynchronousTrainer(PolicyModel policy, TaskPrompts prompts, ExperiencePrior prior, HyperParameters hyper,
                              MathVerifier verifier, Options options) {
        if (prior == null && hyper.schedule().initialRatio() > 0) {
            throw new ai.eapo.UserInputException("experience initial-ratio is " + hyper.schedule().initialRatio()
                    + " but no prior model is given (use --prior, or initial-ratio = 0 for plain GRPO)");
        }
        this.policy = policy;
        this.prompts = prompts;
        this.prior = prior;
        this.hyper = hyper;
        this.verifier = verifier;
        this.options = options;
        this.optimizer = new AdamW(policy.parameters(), hyper.optimizer());
        this.update = new PolicyUpdate(policy, optimizer, hyper.loss(), options.microBatchSize(),
                options.sampling().logProbTemperature());
    }

    /** One GRPO / EAPO step at learner step {@code step} on a batch of problems. */
    public StepMetrics step(long step, List<ProblemSet.Problem> batch) {
        int groupSize = hyper.groupSize();
        int experienceCount = hyper.schedule().experienceCount(step, groupSize);
        List<Generator.Request> requests = new ArrayList<>();
        for (int q = 0; q < batch.size(); q++) {
            long[] prompt = prompts.prompt(batch.get(q));
            for (int j = 0; j < groupSize; j++) {
                long id = (long) q * groupSize + j;
                long seed = options.seed() * 1_000_003L + step * 10_007L + id;
                requests.add(new Generator.Request(id, prompt, options.maxNewTokens(), seed, j < experienceCount));
            }
        }
        Generator.Experience experience = prior == null ? null
                : new Generator.Experience(prior, h -> hyper.criticalPoints().isCritical(h));
        List<Generator.Completion> completions = new Generator(policy, options.sampling(), Set.of(prompts.eos()),
                options.decodeBatchSize(), experience).generate(requests);

        List<Trajectory> trajectories = new ArrayList<>();
        double rewardSum = 0;
        double eaRewardSum = 0;
        int eaResponses = 0;
        long eaTokens = 0;
        long resampledTokens = 0;
        double entropySum = 0;
        long tokenCount = 0;
        for (int q = 0; q < batch.size(); q++) {
            double[] rewards = new double[groupSize];
            for (int j = 0; j < groupSize; j++) {
                Generator.Completion c = completions.get(q * groupSize + j);
                rewards[j] = verifier.verify(prompts.decode(c.tokens()), batch.get(q).answer()).reward();
                rewardSum += rewards[j];
                for (float h : c.entropies()) {
                    entropySum += h;
                }
                tokenCount += c.tokens().length;
                if (c.experience()) {
                    eaResponses++;
                    eaRewardSum += rewards[j];
                    eaTokens += c.tokens().length;
                    resampledTokens += c.resampledCount();
                }
            }
            GroupAdvantages advantages = GroupAdvantages.of(rewards, hyper.advantage());
            if (advantages.uniform() && hyper.advantage().dropUniformGroups()) {
                continue;
            }
            long[] prompt = requests.get(q * groupSize).prompt();
            for (int j = 0; j < groupSize; j++) {
                Generator.Completion c = completions.get(q * groupSize + j);
                trajectories.add(new Trajectory(prompt, c.tokens(), c.logProbs(), c.resampled(), advantages.advantages()[j]));
            }
        }
        PolicyUpdate.Report report = trajectories.isEmpty()
                ? new PolicyUpdate.Report(0, 0, true, 0, 0, 0)
                : update.step(trajectories);
        int responses = batch.size() * groupSize;
        return new StepMetrics(step, hyper.schedule().ratioAt(step), hyper.criticalPoints().entropyThreshold(),
                rewardSum / responses, rewardSum / responses, eaResponses == 0 ? Double.NaN : eaRewardSum / eaResponses,
                eaTokens == 0 ? 0 : (double) resampledTokens / eaTokens, entropySum / Math.max(1, tokenCount),
                report.loss(), report.gradNorm(), report.clipFraction(), report.meanIsWeight(), report.skipped(),
                tokenCount);
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
        List<Function<NDManager, NDArray>> microBatches = new ArrayList<>();
        for (int from = 0; from < sequences.size(); from += options.microBatchSize()) {
            int to = Math.min(sequences.size(), from + options.microBatchSize());
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
                return SupervisedLoss.of(policy, m.create(ids, shape), m.create(next, shape), m.create(mask, shape), denominator);
            });
        }
        return optimizer.step(microBatches);
    }

    /** Greedy accuracy on held-out problems (the number the tiny models are made to). */
    public double accuracy(List<ProblemSet.Problem> problems) {
        List<Generator.Request> requests = new ArrayList<>();
        for (int i = 0; i < problems.size(); i++) {
            requests.add(new Generator.Request(i, prompts.prompt(problems.get(i)), options.maxNewTokens(), i));
        }
        List<Generator.Completion> out = new Generator(policy, new SamplingParams(0, 1, 0), Set.of(prompts.eos()),
                options.decodeBatchSize()).generate(requests);
        double correct = 0;
        for (int i = 0; i < problems.size(); i++) {
            correct += verifier.verify(prompts.decode(out.get(i).tokens()), problems.get(i).answer()).reward();
        }
        return correct / problems.size();
    }
}
