package ai.eapo.training;

/**
 * One response as the learner sees it: the prompt, the generated tokens with the log-prob of the
 * distribution each was drawn from, whether it came from the prior and the weight version that decoded it,
 * whether the whole response is a replayed past trajectory (ExGRPO), and the response's advantage.
 */
public record Trajectory(long[] prompt, long[] tokens, float[] behaviourLogProbs, boolean[] resampled,
                         long[] weightVersions, boolean replayed, double advantage) {

    public Trajectory {
        if (prompt.length == 0 || tokens.length == 0) {
            throw new IllegalArgumentException("a trajectory needs a prompt and at least one generated token");
        }
        if (behaviourLogProbs.length != tokens.length || resampled.length != tokens.length
                || weightVersions.length != tokens.length) {
            throw new IllegalArgumentException("one behaviour log-prob, resampled flag and weight version per token "
                    + "are needed");
        }
    }

    /** Model inputs: prompt and response without the last token (it predicts nothing). */
    int inputLength() {
        return prompt.length + tokens.length - 1;
    }
}
