package ai.eapo.algorithm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class PolicyLossTest {

    private static final double TOLERANCE = 1e-12;
    private static final double CAP = 2.0;
    private static final double CLIP_LOW = 0.2;
    private static final double CLIP_HIGH = 0.28;
    private static final double GAMMA = 0.1;
    private static final double BETA = 0.05;

    // Two responses of 3 and 2 tokens (the last position of the second is padding).
    private static final double[][] LOG_PROBS = {{-1.0, -0.5, -2.0}, {-0.3, -1.3, 0.0}};
    private static final double[][] PROXIMAL = {{-1.1, -0.9, -2.0}, {-0.3, -1.0, 0.0}};
    private static final double[][] BEHAVIOUR = {{-1.1, -0.9, -3.0}, {-0.8, -1.0, 0.0}};
    private static final double[][] RESAMPLED = {{0, 0, 1}, {1, 0, 0}};
    private static final double[][] MASK = {{1, 1, 1}, {1, 1, 0}};
    private static final double[][] REFERENCE = {{-1.2, -0.4, -1.5}, {-0.5, -1.1, 0.0}};
    private static final double[][] ADVANTAGES = {{1.5}, {-0.7}};

    // Per-token losses by hand (ρ = e^{logp − prox}, w = min(e^{prox − behaviour}, 2), A = 1.5 | −0.7):
    // t00: ρ = e^0.1 inside [0.8, 1.28], w = 1
    private static final double T00 = -Math.exp(0.1) * 1.5;
    // t01: ρ = e^0.4 = 1.49 > 1.28 with A > 0: clipped to 1.28
    private static final double T01 = -1.28 * 1.5;
    // t02 (resampled): ρ = 1, w = e^1 capped at 2
    private static final double T02 = -2.0 * 1.5;
    // t10 (resampled): ρ = 1, w = e^0.5 under the cap, A < 0
    private static final double T10 = -Math.exp(0.5) * -0.7;
    // t11: ρ = e^−0.3 = 0.74 < 0.8 with A < 0: min(ρA, 0.8A) = 0.8A
    private static final double T11 = -0.8 * -0.7;
    // shaped, resampled tokens: −f(π_θ)·A with f(x) = x / (x + 0.1)
    private static final double T02_SHAPED = -(Math.exp(-2.0) / (Math.exp(-2.0) + 0.1)) * 1.5;
    private static final double T10_SHAPED = -(Math.exp(-0.3) / (Math.exp(-0.3) + 0.1)) * -0.7;
    // k3 with d = ref − logp: e^d − d − 1
    private static final double[] K3 = {k3(-0.2), k3(0.1), k3(0.5), k3(-0.2), k3(0.2)};

    private NDManager manager;

    @BeforeEach
    void open() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void close() {
        manager.close();
    }

    private static double k3(double d) {
        return Math.exp(d) - d - 1.0;
    }

    private static LossOptions options(ImportanceSamplingMode mode, LossAggregation aggregation, double beta) {
        return new LossOptions(mode, CAP, CLIP_LOW, CLIP_HIGH, beta, aggregation, GAMMA, GAMMA, MismatchCorrection.OFF);
    }

    private PolicyLossInputs inputs(NDArray logProbs, boolean withReference) {
        DataType type = logProbs.getDataType();
        return new PolicyLossInputs(logProbs,
                manager.create(PROXIMAL).toType(type, false),
                manager.create(BEHAVIOUR).toType(type, false),
                manager.create(RESAMPLED).toType(DataType.BOOLEAN, false),
                manager.create(ADVANTAGES).toType(type, false),
                manager.create(MASK).toType(DataType.BOOLEAN, false),
                withReference ? manager.create(REFERENCE).toType(type, false) : null);
    }

    private static double[] perToken(ImportanceSamplingMode mode) {
        return switch (mode) {
            case TRUNCATED -> new double[] {T00, T01, T02, T10, T11};
            case NONE -> new double[] {T00, T01, -1.0 * 1.5, -1.0 * -0.7, T11};
            case SHAPED -> new double[] {T00, T01, T02_SHAPED, T10_SHAPED, T11};
        };
    }

    private static double aggregate(double[] tokens, LossAggregation aggregation) {
        return switch (aggregation) {
            case TOKEN_MEAN -> (tokens[0] + tokens[1] + tokens[2] + tokens[3] + tokens[4]) / 5.0;
            case SEQ_MEAN_TOKEN_MEAN -> ((tokens[0] + tokens[1] + tokens[2]) / 3.0 + (tokens[3] + tokens[4]) / 2.0) / 2.0;
        };
    }

    @ParameterizedTest
    @EnumSource(ImportanceSamplingMode.class)
    void lossEqualsHandComputedValueForEveryModeAndAggregation(ImportanceSamplingMode mode) {
        for (LossAggregation aggregation : LossAggregation.values()) {
            PolicyLoss.Result result = PolicyLoss.compute(inputs(manager.create(LOG_PROBS), false),
                    options(mode, aggregation, 0.0));
            assertEquals(aggregate(perToken(mode), aggregation), result.loss().getDouble(), TOLERANCE,
                    mode + " " + aggregation);
            assertTrue(result.klMean().isEmpty());
        }
    }

    @ParameterizedTest
    @EnumSource(LossAggregation.class)
    void klPenaltyAddsBetaTimesK3PerToken(LossAggregation aggregation) {
        PolicyLoss.Result result = PolicyLoss.compute(inputs(manager.create(LOG_PROBS), true),
                options(ImportanceSamplingMode.TRUNCATED, aggregation, BETA));
        double[] tokens = perToken(ImportanceSamplingMode.TRUNCATED);
        for (int t = 0; t < tokens.length; t++) {
            tokens[t] += BETA * K3[t];
        }
        assertEquals(aggregate(tokens, aggregation), result.loss().getDouble(), TOLERANCE);
        assertEquals((K3[0] + K3[1] + K3[2] + K3[3] + K3[4]) / 5.0, result.klMean().getAsDouble(), TOLERANCE);
    }

    @Test
    void replayedTrajectoryTokensUseExGrpoShapingWithTheHandComputedValueAndGradient() {
        // Response 0 is a replayed trajectory: its tokens use −g(w)·A, w = e^{logp − behaviour}, g(x) = x / (x + β).
        double beta = GAMMA;
        double[] w = {Math.exp(-1.0 + 1.1), Math.exp(-0.5 + 0.9), Math.exp(-2.0 + 3.0)};
        double[] expected = {-w[0] / (w[0] + beta) * 1.5, -w[1] / (w[1] + beta) * 1.5, -w[2] / (w[2] + beta) * 1.5, T10, T11};
        NDArray logProbs = manager.create(LOG_PROBS);
        logProbs.setRequiresGradient(true);
        PolicyLossInputs plain = inputs(logProbs, false);
        PolicyLossInputs in = new PolicyLossInputs(plain.logProbs(), plain.proximalLogProbs(), plain.behaviourLogProbs(),
                plain.resampled(), plain.advantages(), plain.mask(), null,
                manager.create(new double[][] {{1, 1, 1}, {0, 0, 0}}).toType(DataType.BOOLEAN, false));
        try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
            PolicyLoss.Result result = PolicyLoss.compute(in, options(ImportanceSamplingMode.TRUNCATED,
                    LossAggregation.TOKEN_MEAN, 0.0));
            assertEquals(aggregate(expected, LossAggregation.TOKEN_MEAN), result.loss().getDouble(), TOLERANCE);
            // Only response 1's tokens are IS-weighted now: t10 (weight e^0.5) and t11 (weight 1, clipped).
            assertEquals((Math.exp(0.5) + 1.0) / 2.0, result.meanIsWeight(), TOLERANCE);
            assertEquals(1.0 / 2.0, result.clipFraction(), TOLERANCE);
            collector.backward(result.loss());
        }
        double[] gradient = logProbs.getGradient().toDoubleArray();
        for (int t = 0; t < 3; t++) {
            // d/dlogp of −g(w)·A = −A · g'(w) · w = −A · β w / (w + β)², over 5 tokens.
            double byHand = -1.5 * beta * w[t] / ((w[t] + beta) * (w[t] + beta)) / 5.0;
            assertEquals(byHand, gradient[t], 1e-9, "replayed token " + t);
        }
    }

    @Test
    void statsCountClippedCappedAndWeightedTokens() {
        PolicyLoss.Result truncated = PolicyLoss.compute(inputs(manager.create(LOG_PROBS), false),
                options(ImportanceSamplingMode.TRUNCATED, LossAggregation.TOKEN_MEAN, 0.0));
        assertEquals(2.0 / 5.0, truncated.clipFraction(), TOLERANCE);
        assertEquals((1.0 + 1.0 + 2.0 + Math.exp(0.5) + 1.0) / 5.0, truncated.meanIsWeight(), TOLERANCE);
        assertEquals(1.0 / 5.0, truncated.cappedFraction(), TOLERANCE);

        // Shaped resampled tokens carry no IS weight and are never clipped: 3 weighted tokens remain.
        PolicyLoss.Result shaped = PolicyLoss.compute(inputs(manager.create(LOG_PROBS), false),
                options(ImportanceSamplingMode.SHAPED, LossAggregation.TOKEN_MEAN, 0.0));
        assertEquals(2.0 / 3.0, shaped.clipFraction(), TOLERANCE);
        assertEquals(1.0, shaped.meanIsWeight(), TOLERANCE);
        assertEquals(0.0, shaped.cappedFraction(), TOLERANCE);

        PolicyLoss.Result none = PolicyLoss.compute(inputs(manager.create(LOG_PROBS), false),
                options(ImportanceSamplingMode.NONE, LossAggregation.TOKEN_MEAN, 0.0));
        assertEquals(1.0, none.meanIsWeight(), TOLERANCE);
        assertEquals(0.0, none.cappedFraction(), TOLERANCE);
    }

    @Test
    void infiniteCapLeavesTheWeightUncut() {
        LossOptions uncapped = new LossOptions(ImportanceSamplingMode.TRUNCATED, Double.POSITIVE_INFINITY,
                CLIP_LOW, CLIP_HIGH, 0.0, LossAggregation.TOKEN_MEAN, GAMMA, GAMMA, MismatchCorrection.OFF);
        PolicyLoss.Result result = PolicyLoss.compute(inputs(manager.create(LOG_PROBS), false), uncapped);
        double t02 = -Math.E * 1.5;
        assertEquals((T00 + T01 + t02 + T10 + T11) / 5.0, result.loss().getDouble(), TOLERANCE);
        assertEquals(0.0, result.cappedFraction());
    }

    @Test
    void givenDenominatorReplacesTheBatchCount() {
        PolicyLoss.Result result = PolicyLoss.compute(inputs(manager.create(LOG_PROBS), false),
                options(ImportanceSamplingMode.TRUNCATED, LossAggregation.TOKEN_MEAN, 0.0), 20.0);
        assertEquals((T00 + T01 + T02 + T10 + T11) / 20.0, result.loss().getDouble(), TOLERANCE);
    }

    @Test
    void float32InputsGiveAFloat32LossOfTheSameValue() {
        NDArray logProbs = manager.create(LOG_PROBS).toType(DataType.FLOAT32, false);
        PolicyLoss.Result result = PolicyLoss.compute(inputs(logProbs, true),
                options(ImportanceSamplingMode.SHAPED, LossAggregation.TOKEN_MEAN, 0.0));
        assertEquals(DataType.FLOAT32, result.loss().getDataType());
        assertEquals(aggregate(perToken(ImportanceSamplingMode.SHAPED), LossAggregation.TOKEN_MEAN),
                result.loss().getFloat(), 1e-6);
    }

    @ParameterizedTest
    @EnumSource(ImportanceSamplingMode.class)
    void gradientMatchesCentralFiniteDifferences(ImportanceSamplingMode mode) {
        double step = 1e-6;
        for (LossAggregation aggregation : LossAggregation.values()) {
            LossOptions options = options(mode, aggregation, BETA);
            NDArray logProbs = manager.create(LOG_PROBS);
            logProbs.setRequiresGradient(true);
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                collector.backward(PolicyLoss.compute(inputs(logProbs, true), options).loss());
            }
            double[] gradient = logProbs.getGradient().toDoubleArray();
            for (int b = 0; b < LOG_PROBS.length; b++) {
                for (int t = 0; t < LOG_PROBS[b].length; t++) {
                    double numeric = (lossAt(options, b, t, step) - lossAt(options, b, t, -step)) / (2 * step);
                    assertEquals(numeric, gradient[b * LOG_PROBS[b].length + t], 1e-7,
                            mode + " " + aggregation + " token " + b + "," + t);
                }
            }
        }
    }

    private double lossAt(LossOptions options, int b, int t, double shift) {
        double[][] shifted = {LOG_PROBS[0].clone(), LOG_PROBS[1].clone()};
        shifted[b][t] += shift;
        return PolicyLoss.compute(inputs(manager.create(shifted), true), options).loss().getDouble();
    }

    @Test
    void noGradientFlowsIntoTheImportanceWeightOrReference() {
        NDArray logProbs = manager.create(LOG_PROBS);
        NDArray proximal = manager.create(PROXIMAL);
        NDArray behaviour = manager.create(BEHAVIOUR);
        NDArray reference = manager.create(REFERENCE);
        for (NDArray array : new NDArray[] {logProbs, proximal, behaviour, reference}) {
            array.setRequiresGradient(true);
        }
        PolicyLossInputs in = new PolicyLossInputs(logProbs, proximal, behaviour, manager.create(RESAMPLED),
                manager.create(ADVANTAGES), manager.create(MASK), reference);
        try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
            collector.backward(PolicyLoss.compute(in,
                    options(ImportanceSamplingMode.TRUNCATED, LossAggregation.TOKEN_MEAN, BETA)).loss());
        }
        assertTrue(logProbs.getGradient().abs().sum().getDouble() > 0.0);
        for (NDArray frozen : new NDArray[] {proximal, behaviour, reference}) {
            // An unused leaf's gradient comes back as float32 zeros.
            assertEquals(0.0, frozen.getGradient().abs().sum().toType(DataType.FLOAT64, false).getDouble());
        }
    }

    @Test
    void rejectsMismatchedShapesAndKlWithoutReference() {
        NDArray logProbs = manager.create(LOG_PROBS);
        PolicyLossInputs wrongMask = new PolicyLossInputs(logProbs, manager.create(PROXIMAL),
                manager.create(BEHAVIOUR), manager.create(RESAMPLED), manager.create(ADVANTAGES),
                manager.ones(new Shape(2, 2)), null);
        LossOptions plain = options(ImportanceSamplingMode.TRUNCATED, LossAggregation.TOKEN_MEAN, 0.0);
        IllegalArgumentException shape = assertThrows(IllegalArgumentException.class,
                () -> PolicyLoss.compute(wrongMask, plain));
        assertTrue(shape.getMessage().contains("mask"), shape.getMessage());

        IllegalArgumentException kl = assertThrows(IllegalArgumentException.class, () -> PolicyLoss.compute(
                inputs(logProbs, false), options(ImportanceSamplingMode.TRUNCATED, LossAggregation.TOKEN_MEAN, BETA)));
        assertTrue(kl.getMessage().contains(LossOptions.KEY_KL_COEF), kl.getMessage());
    }

    @Test
    void leavesOnlyTheLossInTheCallersManager() {
        try (NDManager step = manager.newSubManager()) {
            PolicyLossInputs in = new PolicyLossInputs(step.create(LOG_PROBS), step.create(PROXIMAL),
                    step.create(BEHAVIOUR), step.create(RESAMPLED), step.create(ADVANTAGES), step.create(MASK),
                    step.create(REFERENCE));
            int before = step.getManagedArrays().size();
            PolicyLoss.Result result = PolicyLoss.compute(in,
                    options(ImportanceSamplingMode.SHAPED, LossAggregation.SEQ_MEAN_TOKEN_MEAN, BETA));
            assertEquals(before + 1, step.getManagedArrays().size());
            assertTrue(step.getManagedArrays().contains(result.loss()));
        }
    }
}
