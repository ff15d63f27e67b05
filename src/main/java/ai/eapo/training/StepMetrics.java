package ai.eapo.training;

import ai.eapo.algorithm.AdvantageOptions;

import java.util.List;

/**
 * One learner step's numbers: one line of metrics.jsonl (keys in snake_case). Quantities with nothing to
 * measure in a step (no experience response, say) are NaN, written as null.
 *
 * @param weightVersion the version the step produced
 * @param accuracy share of responses judged correct (the reward is 1 or 0, so equal to rewardMean here)
 * @param eaAccuracy accuracy of the experience responses
 * @param policyAccuracy accuracy of the ordinary responses (the policy's own, no prior), to set against
 *     {@code eaAccuracy}
 * @param resampledRatio share of the experience responses' tokens that came from the prior
 * @param keptMassMean mean over generated tokens of the probability mass top-p / top-k kept of the distribution
 *     each was drawn from (the policy's or, for a resampled token, the prior's); 1 when nothing is cut
 * @param kl mean k3 KL(behaviour ‖ π_θ) on policy-sampled tokens: drift from the weights that sampled
 * @param tokensPerS the step's generated tokens per second of wall time from the end of the previous step
 *     to the end of this one (sampling, verification and the update, overlapped or not)
 * @param stalenessMean mean over response tokens of (learner version − version that decoded the token)
 * @param mixedCacheShare share of generated tokens decoded after their sampler loaded a newer weight version
 *     mid-sequence (the KV cache still held the older version's keys and values): weighted by their recorded
 *     behaviour log-prob, never taken as on-policy
 * @param mismatchKl mean k3 KL between the sampler's recorded log-probs and the learner's recomputed ones on
 *     tokens drawn with the weights being trained: 0 up to rounding when both compute alike; NaN without such tokens
 * @param mismatchMaxRatio the largest π_learner / π_sampler among those tokens
 * @param groups the questions (groups of responses) the step trained on
 * @param uniformGroups of those, the groups without learning signal ({@link ScoredGroup#withoutSignal}): all
 *     rewards equal; with dynamic sampling, all responses right or all wrong, still so after their refills and
 *     left out of the update
 * @param eaGroups of the groups, those with at least one experience response generated for them
 * @param eaUniformGroups of those, the groups without learning signal: with {@code uniformGroups}, the share of
 *     groups with signal among the experience-carrying groups and among the others (EAPO's lever is turning
 *     all-wrong groups into mixed ones)
 * @param refills the problems DAPO's dynamic sampling replaced for this step because their groups had no signal
 * @param klCoef β of the KL penalty in this step (EXPO sets it from the batch accuracy)
 * @param referenceKl mean k3 KL(π_θ ‖ π_ref) per response token; NaN without a reference model
 * @param replay ExGRPO's buffer after the step (size, retired questions, trajectories replayed); null when off
 */
public record StepMetrics(long step, long weightVersion, double alpha, double tau, long annealingSteps,
                          double rewardMean, double accuracy, double eaAccuracy, double policyAccuracy,
                          double resampledRatio,
                          double entropyMean, double keptMassMean, double loss, double gradNorm, double kl, double clipFraction,
                          double isWeightMean, boolean skipped, long tokens, double tokensPerS, double stalenessMean,
                          double mixedCacheShare, double mismatchKl, double mismatchMaxRatio,
                          double learningRate, int groups, int uniformGroups, int eaGroups, int eaUniformGroups,
                          int refills, double klCoef,
                          double referenceKl,
                          ExperienceReplay.Stats replay) {

    /**
     * Sums over the responses generated for the step's groups; an ExGRPO replayed trajectory is trained on but was
     * generated earlier (and is correct by choice), so it counts in none of these numbers.
     */
    static StepMetrics of(long step, Knobs knobs, double alpha, double klCoef, List<ScoredGroup> groups,
                          AdvantageOptions advantage, PolicyUpdate.Report report, double seconds, ExperienceReplay.Stats replay) {
        double rewardSum = 0;
        double eaRewardSum = 0;
        double policyRewardSum = 0;
        int responses = 0;
        int eaResponses = 0;
        long eaTokens = 0;
        long resampledTokens = 0;
        double entropySum = 0;
        double keptMassSum = 0;
        double stalenessSum = 0;
        long mixedCacheTokens = 0;
        long tokens = 0;
        for (ScoredGroup g : groups) {
            for (int j = 0; j < g.responses().size(); j++) {
                if (!g.generated(j)) {
                    continue;
                }
                var c = g.responses().get(j);
                double reward = g.rewards()[j];
                rewardSum += reward;
                responses++;
                for (int t = 0; t < c.tokens().length; t++) {
                    entropySum += c.entropies()[t];
                    keptMassSum += c.keptMass()[t];
                    stalenessSum += step - c.weightVersions()[t];
                    mixedCacheTokens += c.weightVersions()[t] != c.weightVersions()[0] ? 1 : 0;
                }
                tokens += c.tokens().length;
                if (c.experience()) {
                    eaResponses++;
                    eaRewardSum += reward;
                    eaTokens += c.tokens().length;
                    resampledTokens += c.resampledCount();
                } else {
                    policyRewardSum += reward;
                }
            }
        }
        double rewardMean = responses == 0 ? Double.NaN : rewardSum / responses;
        return new StepMetrics(step, step + 1, alpha, knobs.tau(), knobs.annealingSteps(), rewardMean, rewardMean,
                eaResponses == 0 ? Double.NaN : eaRewardSum / eaResponses,
                responses == eaResponses ? Double.NaN : policyRewardSum / (responses - eaResponses),
                eaTokens == 0 ? 0 : (double) resampledTokens / eaTokens,
                tokens == 0 ? Double.NaN : entropySum / tokens, tokens == 0 ? Double.NaN : keptMassSum / tokens,
                report.loss(), report.gradNorm(), report.kl(),
                report.clipFraction(), report.meanIsWeight(), report.skipped(), tokens,
                seconds > 0 ? tokens / seconds : Double.NaN, tokens == 0 ? Double.NaN : stalenessSum / tokens,
                tokens == 0 ? Double.NaN : (double) mixedCacheTokens / tokens, report.mismatchKl(),
                report.mismatchMaxRatio(),
                knobs.learningRate(), groups.size(), (int) groups.stream().filter(g -> g.withoutSignal(advantage)).count(),
                (int) groups.stream().filter(StepMetrics::carriesExperience).count(),
                (int) groups.stream().filter(g -> carriesExperience(g) && g.withoutSignal(advantage)).count(),
                groups.stream().mapToInt(ScoredGroup::refills).sum(), klCoef, report.referenceKl(), replay);
    }

    /** Whether an experience response was generated for the group (replayed trajectories do not count). */
    private static boolean carriesExperience(ScoredGroup g) {
        for (int j = 0; j < g.responses().size(); j++) {
            if (g.generated(j) && g.responses().get(j).experience()) {
                return true;
            }
        }
        return false;
    }
}
