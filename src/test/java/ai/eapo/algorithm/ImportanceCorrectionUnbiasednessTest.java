package ai.eapo.algorithm;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.GradientCollector;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Spec section 3's check: on a 5-armed softmax bandit, actions drawn from the EAPO mixture (with
 * probability α from a prior q, else from π) and weighted by w = π / behaviour with C = ∞ give a
 * policy gradient (through the real {@link PolicyLoss} and DJL autograd, with ρ = 1) whose Monte-Carlo
 * mean equals the exact on-policy gradient ∇ Σ_a π(a) r(a); without the weight it does not.
 */
class ImportanceCorrectionUnbiasednessTest {

    private static final double[] THETA = {0.2, -0.4, 0.9, 0.0, -1.0};
    private static final double[] REWARD = {1.0, 0.0, 0.0, 1.0, 0.5};
    private static final double[] PRIOR = {0.05, 0.1, 0.05, 0.6, 0.2};
    private static final double EXPERIENCE_RATIO = 0.5;
    private static final int BATCHES = 50;
    private static final int BATCH_SIZE = 400;
    private static final double ALLOWED_STANDARD_ERRORS = 4.0;
    private static final double REQUIRED_BIAS_STANDARD_ERRORS = 10.0;
    private static final long SEED = 20240611L;

    private static final double[] POLICY = softmax(THETA);

    @Test
    void truncatedWeightWithInfiniteCapIsUnbiased() {
        double[][] gradients = sampleGradients(ImportanceSamplingMode.TRUNCATED);
        double[] exact = onPolicyGradient();
        for (int a = 0; a < THETA.length; a++) {
            double error = Math.abs(mean(gradients, a) - exact[a]);
            double standardError = standardError(gradients, a);
            assertTrue(error <= ALLOWED_STANDARD_ERRORS * standardError,
                    "component " + a + ": |MC − exact| = " + error + " > " + ALLOWED_STANDARD_ERRORS + " SE = "
                            + ALLOWED_STANDARD_ERRORS * standardError);
        }
    }

    @Test
    void uncorrectedEstimatorIsMeasurablyBiasedTowardsThePrior() {
        double[][] gradients = sampleGradients(ImportanceSamplingMode.NONE);
        double[] exact = onPolicyGradient();
        double largestBias = 0.0;
        for (int a = 0; a < THETA.length; a++) {
            largestBias = Math.max(largestBias, Math.abs(mean(gradients, a) - exact[a]) / standardError(gradients, a));
        }
        assertTrue(largestBias > REQUIRED_BIAS_STANDARD_ERRORS,
                "expected a bias above " + REQUIRED_BIAS_STANDARD_ERRORS + " SE, largest was " + largestBias + " SE");
    }

    /** Ascent direction −∇loss of each batch: row b is the mean estimator over batch b. */
    private static double[][] sampleGradients(ImportanceSamplingMode mode) {
        LossOptions options = new LossOptions(mode, Double.POSITIVE_INFINITY, 0.2, 0.28, 0.0,
                LossAggregation.TOKEN_MEAN, 0.1, 0.1);
        Random random = new Random(SEED);
        double[][] gradients = new double[BATCHES][];
        try (NDManager manager = NDManager.newBaseManager()) {
            for (int batch = 0; batch < BATCHES; batch++) {
                try (NDManager step = manager.newSubManager()) {
                    gradients[batch] = batchGradient(step, random, options);
                }
            }
        }
        return gradients;
    }

    private static double[] batchGradient(NDManager step, Random random, LossOptions options) {
        double[][] oneHot = new double[BATCH_SIZE][THETA.length];
        double[][] behaviour = new double[BATCH_SIZE][1];
        double[][] resampled = new double[BATCH_SIZE][1];
        double[][] advantages = new double[BATCH_SIZE][1];
        for (int i = 0; i < BATCH_SIZE; i++) {
            boolean fromPrior = random.nextDouble() < EXPERIENCE_RATIO;
            double[] source = fromPrior ? PRIOR : POLICY;
            int action = draw(source, random);
            oneHot[i][action] = 1.0;
            behaviour[i][0] = Math.log(source[action]);
            resampled[i][0] = fromPrior ? 1.0 : 0.0;
            advantages[i][0] = REWARD[action];
        }
        NDArray theta = step.create(THETA);
        theta.setRequiresGradient(true);
        try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
            NDArray logPolicy = theta.logSoftmax(0).reshape(1, THETA.length);
            NDArray logProbs = step.create(oneHot).mul(logPolicy).sum(new int[] {1}, true);
            PolicyLossInputs inputs = new PolicyLossInputs(logProbs, logProbs.stopGradient(),
                    step.create(behaviour), step.create(resampled).toType(DataType.BOOLEAN, false),
                    step.create(advantages), step.ones(logProbs.getShape()), null);
            collector.backward(PolicyLoss.compute(inputs, options).loss());
        }
        return theta.getGradient().neg().toDoubleArray();
    }

    /** ∂/∂θ_j Σ_a π(a) r(a) = π_j (r_j − Σ_a π(a) r(a)). */
    private static double[] onPolicyGradient() {
        double expectedReward = 0.0;
        for (int a = 0; a < THETA.length; a++) {
            expectedReward += POLICY[a] * REWARD[a];
        }
        double[] gradient = new double[THETA.length];
        for (int a = 0; a < THETA.length; a++) {
            gradient[a] = POLICY[a] * (REWARD[a] - expectedReward);
        }
        return gradient;
    }

    private static int draw(double[] distribution, Random random) {
        double u = random.nextDouble();
        double cumulative = 0.0;
        for (int a = 0; a < distribution.length - 1; a++) {
            cumulative += distribution[a];
            if (u < cumulative) {
                return a;
            }
        }
        return distribution.length - 1;
    }

    private static double[] softmax(double[] logits) {
        double total = 0.0;
        double[] probabilities = new double[logits.length];
        for (int a = 0; a < logits.length; a++) {
            probabilities[a] = Math.exp(logits[a]);
            total += probabilities[a];
        }
        for (int a = 0; a < logits.length; a++) {
            probabilities[a] /= total;
        }
        return probabilities;
    }

    private static double mean(double[][] rows, int column) {
        double sum = 0.0;
        for (double[] row : rows) {
            sum += row[column];
        }
        return sum / rows.length;
    }

    /** Standard error of the mean of the batch means. */
    private static double standardError(double[][] rows, int column) {
        double mean = mean(rows, column);
        double squares = 0.0;
        for (double[] row : rows) {
            squares += (row[column] - mean) * (row[column] - mean);
        }
        return Math.sqrt(squares / (rows.length - 1) / rows.length);
    }
}
