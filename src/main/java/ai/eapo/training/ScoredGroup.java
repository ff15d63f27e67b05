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
 */
public record ScoredGroup(long step, int question, long[] prompt, List<Completion> responses, double[] rewards,
                          GroupAdvantages advantages) {

    public ScoredGroup {
        if (responses.size() != rewards.length) {
            throw new IllegalArgumentException(responses.size() + " responses but " + rewards.length + " rewards");
        }
        responses = List.copyOf(responses);
    }

    /** Scores a group: advantages from the rewards under {@code options}. */
    public static ScoredGroup of(long step, int question, long[] prompt, List<Completion> responses, double[] rewards,
                                 AdvantageOptions options) {
        return new ScoredGroup(step, question, prompt, responses, rewards.clone(), GroupAdvantages.of(rewards, options));
    }

    /** All rewards equal: no learning signal (DAPO dynamic sampling drops such groups). */
    public boolean uniform() {
        return advantages.uniform();
    }

    /** The responses as the learner consumes them, each with its group advantage. */
    public List<Trajectory> trajectories() {
        double[] a = advantages.advantages();
        List<Trajectory> out = new ArrayList<>(responses.size());
        for (int j = 0; j < responses.size(); j++) {
            Completion c = responses.get(j);
            out.add(new Trajectory(prompt, c.tokens(), c.logProbs(), c.resampled(), a[j]));
        }
        return out;
    }
}
