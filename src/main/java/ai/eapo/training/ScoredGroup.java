package ai.eapo.training;

import ai.eapo.algorithm.AdvantageOptions;
import ai.eapo.algorithm.GroupAdvantages;
import ai.eapo.model.Generator.Completion;

import java.util.ArrayList;
import java.util.List;

/**
 * One question's complete group: its G responses in slot order, their rewards and GRPO advantages. The
 * Grouper makes these; the learner trains on them.
 *
 * @param step the learner step whose batch the question belongs to
 * @param question the question's place in that batch
 * @param problemId the question's place in the training data
 * @param rewards the Verifier's rewards (correctness)
 * @param penalties per response, the reward penalty (≤ 0, DAPO's overlong penalty; 0 when off) that the
 *     advantages include on top of {@code rewards}
 * @param trained per response, whether it takes part in the update (false only for the incorrect
 *     experience responses that {@link AdvantageOptions#correctExperienceOnly()} leaves out); the
 *     advantages are computed over the trained responses and are 0 for the others
 * @param replayedSlot the slot of the replayed trajectory (ExGRPO), or −1 when the group has none
 * @param refills how many problems DAPO's dynamic sampling tried in this batch slot before this group's (each
 *     one's group had no learning signal); 0 without refills
 */
public record ScoredGroup(long step, int question, int problemId, long[] prompt, List<Completion> responses,
                          double[] rewards, double[] penalties, GroupAdvantages advantages, boolean[] trained,
                          int replayedSlot, int refills) {

    /** Whether a reward means a correct response: 1 from the Verifier, never 0 or a format penalty. */
    public static boolean isCorrect(double reward) {
        return reward > 0;
    }

    /** Whether response {@code j} was generated for this step: every one but the replayed trajectory. */
    public boolean generated(int j) {
        return j != replayedSlot;
    }

    /** Share of this group's generated responses that are correct (a replayed trajectory is correct by choice). */
    public double accuracy() {
        return accuracy(List.of(this));
    }

    /** Pass@1 of a batch: the share of its groups' generated responses that are correct; NaN when there are none. */
    public static double accuracy(List<ScoredGroup> groups) {
        int generated = 0;
        int correct = 0;
        for (ScoredGroup g : groups) {
            for (int j = 0; j < g.rewards.length; j++) {
                if (g.generated(j)) {
                    generated++;
                    correct += isCorrect(g.rewards[j]) ? 1 : 0;
                }
            }
        }
        return generated == 0 ? Double.NaN : (double) correct / generated;
    }

    /** The problem id of a group from the synchronous loop, which runs no strategy that needs one. */
    public static final int UNKNOWN_PROBLEM = -1;

    public ScoredGroup {
        if (responses.size() != rewards.length || penalties.length != rewards.length
                || trained.length != rewards.length) {
            throw new IllegalArgumentException(responses.size() + " responses, " + rewards.length + " rewards, "
                    + penalties.length + " penalties and " + trained.length + " trained flags");
        }
        responses = List.copyOf(responses);
    }

    /** Scores a group: advantages from the rewards of the responses it trains on, under {@code options}. */
    public static ScoredGroup of(long step, int question, int problemId, long[] prompt, List<Completion> responses,
                                 double[] rewards, AdvantageOptions options) {
        return of(step, question, problemId, prompt, responses, rewards, new double[rewards.length], options);
    }

    /**
     * Scores a group whose responses also carry reward {@code penalties} (≤ 0, e.g. DAPO's overlong penalty): the
     * advantages come from reward + penalty, while {@link #rewards} keeps the Verifier's rewards (correctness).
     */
    public static ScoredGroup of(long step, int question, int problemId, long[] prompt, List<Completion> responses,
                                 double[] rewards, double[] penalties, AdvantageOptions options) {
        int n = rewards.length;
        if (penalties.length != n) {
            throw new IllegalArgumentException(n + " rewards but " + penalties.length + " penalties");
        }
        boolean[] trained = new boolean[n];
        double[] shaped = new double[n];
        int count = 0;
        for (int j = 0; j < n; j++) {
            trained[j] = !(options.correctExperienceOnly() && responses.get(j).experience() && !isCorrect(rewards[j]));
            count += trained[j] ? 1 : 0;
            shaped[j] = rewards[j] + penalties[j];
        }
        return new ScoredGroup(step, question, problemId, prompt, responses, rewards.clone(), penalties.clone(),
                advantagesOf(shaped, trained, count, options), trained, -1, 0);
    }

    /**
     * This group completed by a replayed trajectory (ExGRPO): {@code replayed} joins as the last slot with reward 1
     * and its own {@code penalty}, and the advantages are recomputed over the whole group, penalties included.
     */
    public ScoredGroup withReplayed(Completion replayed, double penalty, AdvantageOptions options) {
        List<Completion> all = new ArrayList<>(responses);
        all.add(replayed);
        int slot = rewards.length;
        double[] allRewards = java.util.Arrays.copyOf(rewards, slot + 1);
        allRewards[slot] = 1.0;
        double[] allPenalties = java.util.Arrays.copyOf(penalties, slot + 1);
        allPenalties[slot] = penalty;
        ScoredGroup scored = of(step, question, problemId, prompt, all, allRewards, allPenalties, options);
        return new ScoredGroup(step, question, problemId, prompt, scored.responses, scored.rewards, scored.penalties,
                scored.advantages, scored.trained, slot, refills);
    }

    /** This group as the one found after {@code count} refills of its batch slot. */
    public ScoredGroup withRefills(int count) {
        return new ScoredGroup(step, question, problemId, prompt, responses, rewards, penalties, advantages, trained,
                replayedSlot, count);
    }

    /** GRPO advantages over the trained responses, scattered back to slot order; 0 for the others. */
    private static GroupAdvantages advantagesOf(double[] rewards, boolean[] trained, int count, AdvantageOptions options) {
        if (count == rewards.length) {
            return GroupAdvantages.of(rewards, options);
        }
        if (count < 2) {
            return new GroupAdvantages(new double[rewards.length], true); // no baseline left: no signal
        }
        double[] kept = new double[count];
        for (int j = 0, i = 0; j < rewards.length; j++) {
            if (trained[j]) {
                kept[i++] = rewards[j];
            }
        }
        GroupAdvantages of = GroupAdvantages.of(kept, options);
        double[] keptAdvantages = of.advantages();
        double[] advantages = new double[rewards.length];
        for (int j = 0, i = 0; j < rewards.length; j++) {
            if (trained[j]) {
                advantages[j] = keptAdvantages[i++];
            }
        }
        return new GroupAdvantages(advantages, of.uniform());
    }

    /** All rewards equal: every advantage is 0. */
    public boolean uniform() {
        return advantages.uniform();
    }

    /**
     * The group teaches nothing in an update with {@code options}: with DAPO dynamic sampling, its generated
     * responses are all correct or all wrong (DAPO keeps a group when 0 &lt; #correct &lt; G, whatever overlong
     * penalties set the rewards apart); without it, all its rewards are equal.
     */
    public boolean withoutSignal(AdvantageOptions options) {
        if (!options.dropUniformGroups()) {
            return uniform();
        }
        double accuracy = accuracy();
        return accuracy == 0 || accuracy == 1;
    }

    /**
     * Whether the update trains on this group: DAPO's dynamic sampling leaves out a group without signal (one its
     * refills could not replace); without it, every group is trained on (a uniform one contributes no gradient).
     */
    public boolean trainedOn(AdvantageOptions options) {
        return !(options.dropUniformGroups() && withoutSignal(options));
    }

    /** The trained responses as the learner consumes them, each with its group advantage. */
    public List<Trajectory> trajectories() {
        double[] a = advantages.advantages();
        List<Trajectory> out = new ArrayList<>(responses.size());
        for (int j = 0; j < responses.size(); j++) {
            if (!trained[j]) {
                continue;
            }
            Completion c = responses.get(j);
            out.add(new Trajectory(prompt, c.tokens(), c.logProbs(), c.policyLogProbs(), c.resampled(), c.weightVersions(),
                    j == replayedSlot,
                    a[j]));
        }
        return out;
    }
}
