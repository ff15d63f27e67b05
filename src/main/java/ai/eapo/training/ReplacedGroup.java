package ai.eapo.training;

/**
 * A group DAPO's dynamic sampling replaced by another problem (it carried no learning signal): problem
 * {@code problemId} of the training data, with this share of correct responses. It is not trained on, but
 * EXPO's curriculum hears of its accuracy.
 */
public record ReplacedGroup(int problemId, double accuracy) {
}
