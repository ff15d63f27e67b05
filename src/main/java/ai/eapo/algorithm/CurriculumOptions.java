package ai.eapo.algorithm;

/**
 * Options of {@link QuestionCurriculum}, EXPO's Gaussian curriculum sampling of training questions.
 *
 * <p>Why σ = 0.2 and not ExGRPO's σ = 1: accuracies lie in [0, 1], so with σ = 1 even a question at
 * accuracy 0 or 1 keeps weight exp(−0.125) ≈ 0.88 and the curriculum is nearly uniform. ExGRPO can
 * afford that because it applies the Gaussian only to questions it has already filtered (in its
 * replay buffer, so solved at least once, and not retired at 100%). EXPO weights the whole dataset,
 * so the peak must be sharp enough to matter: at σ = 0.2 a question the model always or never solves
 * weighs exp(−3.125) ≈ 0.044, about 1/23 of one at 0.5, while questions at 0.3 or 0.7 still weigh
 * exp(−0.5) ≈ 0.61. The EXPO paper gives no σ; 0.2 is this project's choice.
 *
 * <p>{@code enabled} is read by the pipeline: when false, questions are drawn as before, without a curriculum.
 *
 * @param enabled draw training questions by curriculum weight, default false
 * @param mean μ in [0, 1], the accuracy of the most-wanted questions, default 0.5
 * @param sigma σ &gt; 0, the width of the Gaussian, default 0.2
 * @param smoothing in (0, 1], weight of the newest group accuracy in a question's running accuracy
 *     ({@code acc ← (1 − smoothing) · acc + smoothing · observed}); 1.0, the default, means the latest
 *     group accuracy replaces the running value, smaller values average over past epochs
 * @param unseenAccuracy in [0, 1], the accuracy assumed for a question never observed, default 0.5:
 *     equal to the default μ, so unseen questions get the top weight and every question is tried
 *     early (change it together with μ to keep that property)
 */
public record CurriculumOptions(boolean enabled, double mean, double sigma, double smoothing,
                                double unseenAccuracy) {

    public static final String KEY_ENABLED = "eapo.algorithm.expo.curriculum.enabled";
    public static final String KEY_MEAN = "eapo.algorithm.expo.curriculum.mean";
    public static final String KEY_SIGMA = "eapo.algorithm.expo.curriculum.sigma";
    public static final String KEY_SMOOTHING = "eapo.algorithm.expo.curriculum.smoothing";
    public static final String KEY_UNSEEN_ACCURACY = "eapo.algorithm.expo.curriculum.unseen-accuracy";

    /** @throws IllegalArgumentException naming the offending key and value */
    public void validate() {
        OptionCheck.require(mean >= 0.0 && mean <= 1.0, KEY_MEAN, mean, "must be in [0, 1]");
        OptionCheck.require(sigma > 0.0 && Double.isFinite(sigma), KEY_SIGMA, sigma, "must be a finite number > 0");
        OptionCheck.require(smoothing > 0.0 && smoothing <= 1.0, KEY_SMOOTHING, smoothing, "must be in (0, 1]");
        OptionCheck.require(unseenAccuracy >= 0.0 && unseenAccuracy <= 1.0, KEY_UNSEEN_ACCURACY, unseenAccuracy,
                "must be in [0, 1]");
    }
}
