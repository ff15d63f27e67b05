package ai.eapo.algorithm;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.eapo.model.Constants;
import ai.eapo.model.SamplingParams;
import ai.eapo.model.TokenSampler;
import ai.djl.training.GradientCollector;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Spec section 3's check: on a 5-armed softmax bandit, actions drawn from the EAPO mixture (with
 * probability α from a prior q, else from π) and weighted by w = π / behaviour with C = ∞ give a
 * policy gradient (through the real {@link PolicyLoss} and DJL autograd, with ρ = 1) whose Monte-Carlo
 * mean equals the exact on-policy gradient ∇ Σ_a π(a) r(a); without the weight it does not.
 *
 * <p>The same holds for a prior sampled at a temperature ≠ 1 with top-p / top-k, through the real
 * {@link TokenSampler}, when the behaviour log-prob is that of the truncated distribution actually sampled
 * ({@code sampledLogProbs}); recording the full softmax's log-prob instead inflates every prior token's weight by
 * 1/Z and biases the gradient towards the prior. The cut arms carry no reward, so the truncated prior's missing
 * support costs nothing and any bias left is the weight's; the policy's own draws are not truncated here, so the
 * mixture covers π's support.
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

    private static final double[] POLICY = softmax(THETA, 1.0);

    private static final double TEMPERATURE = 0.7;
    /** The prior after temperature; top-3 or top-p 0.7 keeps arms 3, 0, 4 (Z = 0.73) and cuts the rewardless 1, 2. */
    private static final double[] TEMPERED_PRIOR = {0.25, 0.14, 0.13, 0.3, 0.18};
    private static final double[] TEMPERED_POLICY = softmax(THETA, TEMPERATURE);

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

    @ParameterizedTest
    @CsvSource({"0.7, 0", "1.0, 3", "0.95, 3"})
    void truncatedPriorAtATemperatureIsUnbiasedWithTheSampledDistributionsLogProb(double topP, int topK) {
        SamplingParams params = new SamplingParams(TEMPERATURE, topP, topK);
        double[][][] gradients = sampleTemperedGradients(params);
        double[] exact = temperedOnPolicyGradient();
        double largestBiasOfFullLogProbs = 0.0;
        for (int a = 0; a < THETA.length; a++) {
            double error = Math.abs(mean(gradients[0], a) - exact[a]);
            double standardError = standardError(gradients[0], a);
            assertTrue(error <= ALLOWED_STANDARD_ERRORS * standardError, "top-p " + topP + ", top-k " + topK
                    + ", component " + a + ": |MC − exact| = " + error + " > " + ALLOWED_STANDARD_ERRORS + " SE");
            largestBiasOfFullLogProbs = Math.max(largestBiasOfFullLogProbs,
                    Math.abs(mean(gradients[1], a) - exact[a]) / standardError(gradients[1], a));
        }
        assertTrue(largestBiasOfFullLogProbs > REQUIRED_BIAS_STANDARD_ERRORS, "the full softmax's log-prob as "
                + "behaviour should bias the gradient; largest bias " + largestBiasOfFullLogProbs + " SE");
    }

    /**
     * Per batch, the estimator with the prior's behaviour log-prob from the distribution sampled ([0]) and from
     * the full softmax ([1]), on the same draws.
     */
    private static double[][][] sampleTemperedGradients(SamplingParams params) {
        LossOptions options = new LossOptions(ImportanceSamplingMode.TRUNCATED, Double.POSITIVE_INFINITY, 0.2, 0.28,
                0.0, LossAggregation.TOKEN_MEAN, 0.1, 0.1, MismatchCorrection.OFF);
        Random random = new Random(SEED);
        double[][][] gradients = new double[2][BATCHES][];
        double[] priorLogits = new double[TEMPERED_PRIOR.length];
        for (int a = 0; a < priorLogits.length; a++) {
            priorLogits[a] = TEMPERATURE * Math.log(TEMPERED_PRIOR[a]);
        }
        try (NDManager manager = NDManager.newBaseManager()) {
            for (int batch = 0; batch < BATCHES; batch++) {
                try (NDManager step = manager.newSubManager()) {
                    int[] actions = new int[BATCH_SIZE];
                    boolean[] fromPrior = new boolean[BATCH_SIZE];
                    double[] sampled = new double[BATCH_SIZE];
                    double[] full = new double[BATCH_SIZE];
                    int priorDraws = 0;
                    for (int i = 0; i < BATCH_SIZE; i++) {
                        fromPrior[i] = random.nextDouble() < EXPERIENCE_RATIO;
                        priorDraws += fromPrior[i] ? 1 : 0;
                    }
                    float[] rows = new float[priorDraws * priorLogits.length];
                    double[] uniforms = new double[priorDraws];
                    for (int k = 0; k < priorDraws; k++) {
                        for (int a = 0; a < priorLogits.length; a++) {
                            rows[k * priorLogits.length + a] = (float) priorLogits[a];
                        }
                        uniforms[k] = random.nextDouble();
                    }
                    TokenSampler.Draw prior = TokenSampler.sample(step.create(rows,
                            new Shape(priorDraws, priorLogits.length)), params, uniforms);
                    for (int i = 0, k = 0; i < BATCH_SIZE; i++) {
                        if (fromPrior[i]) {
                            actions[i] = (int) prior.tokens()[k];
                            sampled[i] = prior.sampledLogProbs()[k];
                            full[i] = prior.logProbs()[k];
                            k++;
                        } else {
                            actions[i] = draw(TEMPERED_POLICY, random);
                            sampled[i] = Math.log(TEMPERED_POLICY[actions[i]]);
                            full[i] = sampled[i];
                        }
                    }
                    gradients[0][batch] = batchGradient(step, actions, fromPrior, sampled, TEMPERATURE, options);
                    gradients[1][batch] = batchGradient(step, actions, fromPrior, full, TEMPERATURE, options);
                }
            }
        }
        return gradients;
    }

    /** Ascent direction −∇loss of each batch: row b is the mean estimator over batch b. */
    private static double[][] sampleGradients(ImportanceSamplingMode mode) {
        LossOptions options = new LossOptions(mode, Double.POSITIVE_INFINITY, 0.2, 0.28, 0.0,
                LossAggregation.TOKEN_MEAN, 0.1, 0.1, MismatchCorrection.OFF);
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
        int[] actions = new int[BATCH_SIZE];
        boolean[] fromPrior = new boolean[BATCH_SIZE];
        double[] behaviour = new double[BATCH_SIZE];
        for (int i = 0; i < BATCH_SIZE; i++) {
            fromPrior[i] = random.nextDouble() < EXPERIENCE_RATIO;
            double[] source = fromPrior[i] ? PRIOR : POLICY;
            actions[i] = draw(source, random);
            behaviour[i] = Math.log(source[actions[i]]);
        }
        return batchGradient(step, actions, fromPrior, behaviour, 1.0, options);
    }

    /** −∇loss over one batch of actions with their behaviour log-probs, the policy softmax(θ / temperature). */
    private static double[] batchGradient(NDManager step, int[] actions, boolean[] fromPrior, double[] behaviourLogProbs,
                                          double temperature, LossOptions options) {
        double[][] oneHot = new double[BATCH_SIZE][THETA.length];
        double[][] behaviour = new double[BATCH_SIZE][1];
        double[][] resampled = new double[BATCH_SIZE][1];
        double[][] advantages = new double[BATCH_SIZE][1];
        for (int i = 0; i < BATCH_SIZE; i++) {
            oneHot[i][actions[i]] = 1.0;
            behaviour[i][0] = behaviourLogProbs[i];
            resampled[i][0] = fromPrior[i] ? 1.0 : 0.0;
            advantages[i][0] = REWARD[actions[i]];
        }
        NDArray theta = step.create(THETA);
        theta.setRequiresGradient(true);
        try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
            NDArray logPolicy = Constants.divide(theta, temperature).logSoftmax(0).reshape(1, THETA.length);
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

    /** ∂/∂θ_j Σ_a π_T(a) r(a) with π_T = softmax(θ / T): π_T,j (r_j − Σ_a π_T(a) r(a)) / T. */
    private static double[] temperedOnPolicyGradient() {
        double expectedReward = 0.0;
        for (int a = 0; a < THETA.length; a++) {
            expectedReward += TEMPERED_POLICY[a] * REWARD[a];
        }
        double[] gradient = new double[THETA.length];
        for (int a = 0; a < THETA.length; a++) {
            gradient[a] = TEMPERED_POLICY[a] * (REWARD[a] - expectedReward) / TEMPERATURE;
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

    private static double[] softmax(double[] logits, double temperature) {
        double total = 0.0;
        double[] probabilities = new double[logits.length];
        for (int a = 0; a < logits.length; a++) {
            probabilities[a] = Math.exp(logits[a] / temperature);
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
