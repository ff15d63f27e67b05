package ai.eapo.training;

/**
 * One response as the learner sees it: the prompt, the generated tokens with the log-prob of the
 * distribution each was drawn from, the sampler's log-prob of each under its policy's full distribution (what
 * the learner recomputes, but computed by the sampler), whether it came from the prior and the weight version
 * that decoded it, whether the whole response is a replayed past trajectory (ExGRPO), and the response's
 * advantage.
 */
public record Trajectory(long[] prompt, long[] tokens, float[] behaviourLogProbs, float[] samplerLogProbs,
                         boolean[] resampled, long[] weightVersions, boolean replayed, double advantage) {

    public Trajectory {
        if (prompt.length == 0 || tokens.length == 0) {
            throw new IllegalArgumentException("a trajectory needs a prompt and at least one generated token");
        }
        if (behaviourLogProbs.length != tokens.length || samplerLogProbs.length != tokens.length
                || resampled.length != tokens.length
                || weightVersions.length != tokens.length) {
            throw new IllegalArgumentException("one behaviour log-prob, sampler log-prob, resampled flag and weight "
                    + "version per token are needed");
        }
    }

    /**
     * Token {@code i} was drawn by the policy itself from the weights of {@code version} alone, so its behaviour
     * weight is exactly 1 when the learner trains {@code version}. A sampler loads new weights between decode
     * steps, so a sequence's KV cache can hold keys and values of an older version: the tokens decoded after such
     * a swap were drawn from a mixture and are weighted by the log-prob actually recorded. Versions never decrease
     * along a sequence and the prompt was prefilled with the first token's version, so the cache holds
     * {@code version} alone exactly when the first token carries it too.
     */
    public boolean onPolicy(int i, long version) {
        return !replayed && !resampled[i] && weightVersions[0] == version && weightVersions[i] == version;
    }

    /** Model inputs: prompt and response without the last token (it predicts nothing). */
    int inputLength() {
        return prompt.length + tokens.length - 1;
    }
}
