package ai.eapo.training;

/**
 * A group DAPO's dynamic sampling dropped and refilled with another problem (it carried no learning signal): problem
 * {@code problemId} of the training data, with this share of correct responses. It is not trained on, but
 * EXPO's curriculum hears of its accuracy.
 */
public record RefilledGroup(int problemId, double accuracy) {
}
