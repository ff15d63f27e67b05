package ai.eapo.algorithm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class QuestionCurriculumTest {

    private static final double TOLERANCE = 1e-15;
    /** The shipped defaults (apart from enabled): μ = 0.5, σ = 0.2, smoothing 1, unseen = 0.5. */
    private static final CurriculumOptions DEFAULTS = new CurriculumOptions(true, 0.5, 0.2, 1.0, 0.5);

    private static CurriculumOptions withSmoothing(double smoothing) {
        return new CurriculumOptions(true, 0.5, 0.2, smoothing, 0.5);
    }

    // ---- weights ----

    @Test
    void weightsByHand() {
        QuestionCurriculum curriculum = new QuestionCurriculum(5, DEFAULTS);
        curriculum.observe(0, 0.5);
        curriculum.observe(1, 0.3);
        curriculum.observe(2, 0.7);
        curriculum.observe(3, 1.0);
        assertEquals(1.0, curriculum.weight(0), TOLERANCE);                 // at μ
        assertEquals(Math.exp(-0.5), curriculum.weight(1), TOLERANCE);      // 0.2² / (2 · 0.04) = 0.5
        assertEquals(0.6065306597126334, curriculum.weight(2), TOLERANCE);  // symmetric: exp(−0.5)
        assertEquals(Math.exp(-3.125), curriculum.weight(3), TOLERANCE);    // 0.25 / 0.08 = 3.125
        assertEquals(1.0, curriculum.weight(4), TOLERANCE);                 // unseen counts as 0.5
    }

    @Test
    void meanSigmaAndUnseenAccuracyAreHonoured() {
        QuestionCurriculum curriculum = new QuestionCurriculum(2, new CurriculumOptions(true, 0.3, 0.1, 1.0, 0.2));
        curriculum.observe(0, 0.5);
        assertEquals(Math.exp(-2.0), curriculum.weight(0), 1e-14);  // 0.2² / (2 · 0.01) = 2
        assertEquals(Math.exp(-0.5), curriculum.weight(1), 1e-14);  // unseen as 0.2: 0.1² / 0.02 = 0.5
    }

    // ---- running accuracy ----

    @Test
    void firstObservationReplacesTheUnseenValueThenSmoothingBlends() {
        QuestionCurriculum curriculum = new QuestionCurriculum(1, withSmoothing(0.5));
        assertTrue(Double.isNaN(curriculum.runningAccuracy(0)));
        curriculum.observe(0, 1.0);
        assertEquals(1.0, curriculum.runningAccuracy(0));   // replaces, not 0.5 · 0.5 + 0.5 · 1
        curriculum.observe(0, 0.0);
        assertEquals(0.5, curriculum.runningAccuracy(0));   // 0.5 · 1 + 0.5 · 0
        curriculum.observe(0, 1.0);
        assertEquals(0.75, curriculum.runningAccuracy(0));  // 0.5 · 0.5 + 0.5 · 1
        curriculum.observe(0, 0.25);
        assertEquals(0.5, curriculum.runningAccuracy(0));   // 0.5 · 0.75 + 0.5 · 0.25
    }

    @Test
    void smallSmoothingIsAnExponentialMovingAverage() {
        QuestionCurriculum curriculum = new QuestionCurriculum(1, withSmoothing(0.25));
        curriculum.observe(0, 0.0);
        curriculum.observe(0, 1.0);
        assertEquals(0.25, curriculum.runningAccuracy(0), TOLERANCE);    // 0.75 · 0 + 0.25 · 1
        curriculum.observe(0, 1.0);
        assertEquals(0.4375, curriculum.runningAccuracy(0), TOLERANCE);  // 0.75 · 0.25 + 0.25 · 1
    }

    @Test
    void unitSmoothingKeepsExactlyTheLatestAccuracy() {
        QuestionCurriculum curriculum = new QuestionCurriculum(1, DEFAULTS);
        double[] observations = {0.1, 0.7, 0.3, 0.9, 0.0, 0.625};
        for (double accuracy : observations) {
            curriculum.observe(0, accuracy);
            assertEquals(accuracy, curriculum.runningAccuracy(0));
        }
    }

    @Test
    void seenCountsQuestionsNotObservations() {
        QuestionCurriculum curriculum = new QuestionCurriculum(4, DEFAULTS);
        assertEquals(0, curriculum.seen());
        curriculum.observe(2, 0.5);
        curriculum.observe(2, 0.25);
        curriculum.observe(0, 0.0);
        assertEquals(2, curriculum.seen());
        assertEquals(4, curriculum.questions());
        assertTrue(Double.isNaN(curriculum.runningAccuracy(1)));
        assertTrue(Double.isNaN(curriculum.runningAccuracy(3)));
    }

    @ParameterizedTest
    @ValueSource(doubles = {-0.1, 1.5, Double.NaN})
    void accuracyOutsideUnitIntervalIsRefusedNamingIt(double accuracy) {
        QuestionCurriculum curriculum = new QuestionCurriculum(3, DEFAULTS);
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> curriculum.observe(1, accuracy));
        assertTrue(error.getMessage().contains("= " + accuracy), error.getMessage());
        assertEquals(0, curriculum.seen());
    }

    @Test
    void questionIdOutOfRangeIsRefused() {
        QuestionCurriculum curriculum = new QuestionCurriculum(3, DEFAULTS);
        assertThrows(IndexOutOfBoundsException.class, () -> curriculum.observe(3, 0.5));
        assertThrows(IndexOutOfBoundsException.class, () -> curriculum.weight(-1));
        assertThrows(IndexOutOfBoundsException.class, () -> curriculum.runningAccuracy(3));
    }

    // ---- selection ----

    /**
     * q0 unseen (w = 1), q1 at 0.3 (w = e^−0.5), q2 at 1.0 (w = e^−3.125); Σw = 1.6504675933360409.
     */
    private static QuestionCurriculum threeQuestions() {
        QuestionCurriculum curriculum = new QuestionCurriculum(3, DEFAULTS);
        curriculum.observe(1, 0.3);
        curriculum.observe(2, 1.0);
        return curriculum;
    }

    /**
     * With n independent draws, a frequency has standard deviation sqrt(p(1−p)/n); 5 of them is a
     * false-alarm chance below 1e-6 per check for a correct sampler under any seed, while a uniform
     * sampler (1/3 each) misses every p here by more than 0.24, i.e. by over 40 standard deviations.
     */
    private static void assertFrequency(double expected, int hits, int n, String what) {
        double tolerance = 5.0 * Math.sqrt(expected * (1.0 - expected) / n);
        assertEquals(expected, (double) hits / n, tolerance, what);
    }

    @Test
    void firstDrawFrequenciesMatchWeightShares() {
        // w_i / Σw: 1 / 1.65047 = 0.60589, 0.60653 / 1.65047 = 0.36749, 0.04394 / 1.65047 = 0.02662
        double[] expected = {0.6058889032645166, 0.36749019620959117, 0.026620900525892187};
        QuestionCurriculum curriculum = threeQuestions();
        int n = 200_000;
        int[] single = new int[3];
        int[] firstOfTwo = new int[3];
        SplittableRandom rng = new SplittableRandom(2024);
        for (int i = 0; i < n; i++) {
            single[curriculum.select(1, rng).get(0)]++;
            firstOfTwo[curriculum.select(2, rng).get(0)]++;
        }
        for (int q = 0; q < 3; q++) {
            assertFrequency(expected[q], single[q], n, "select(1) picks q" + q);
            assertFrequency(expected[q], firstOfTwo[q], n, "select(2) draws q" + q + " first");
        }
    }

    @Test
    void inclusionFrequenciesOfTwoDrawsWithoutReplacement() {
        // P(i in pair) = p_i + Σ_{j≠i} p_j · w_i / (Σw − w_j), with p = w / Σw:
        // q0: 0.60589 + 0.36749 · 1 / 1.04394 + 0.02662 · 1 / 1.60653          = 0.97448
        // q1: 0.36749 + 0.60589 · 0.60653 / 0.65047 + 0.02662 · 0.60653 / 1.60653 = 0.94250
        // q2: 0.02662 + 0.60589 · 0.04394 / 0.65047 + 0.36749 · 0.04394 / 1.04394 = 0.08301
        double[] expected = {0.9744827000217191, 0.942503781448925, 0.08301351852935576};
        QuestionCurriculum curriculum = threeQuestions();
        int n = 200_000;
        int[] included = new int[3];
        SplittableRandom rng = new SplittableRandom(7);
        for (int i = 0; i < n; i++) {
            for (int q : curriculum.select(2, rng)) {
                included[q]++;
            }
        }
        for (int q = 0; q < 3; q++) {
            assertFrequency(expected[q], included[q], n, "select(2) includes q" + q);
        }
    }

    @Test
    void selectedQuestionsAreDistinctAndInRange() {
        QuestionCurriculum curriculum = new QuestionCurriculum(50, DEFAULTS);
        for (int q = 0; q < 50; q += 3) {
            curriculum.observe(q, (q % 11) / 10.0);
        }
        SplittableRandom rng = new SplittableRandom(11);
        for (int round = 0; round < 200; round++) {
            int count = 1 + round % 50;
            List<Integer> drawn = curriculum.select(count, rng);
            assertEquals(count, drawn.size());
            Set<Integer> distinct = new HashSet<>(drawn);
            assertEquals(count, distinct.size(), "duplicates in " + drawn);
            assertTrue(distinct.stream().allMatch(q -> q >= 0 && q < 50), drawn.toString());
        }
        assertEquals(50, new HashSet<>(curriculum.select(50, rng)).size());
    }

    @Test
    void sameGeneratorStateGivesTheSameSelection() {
        QuestionCurriculum curriculum = new QuestionCurriculum(40, DEFAULTS);
        curriculum.observe(5, 0.9);
        curriculum.observe(6, 0.1);
        SplittableRandom first = new SplittableRandom(99);
        SplittableRandom second = new SplittableRandom(99);
        for (int round = 0; round < 20; round++) {
            assertEquals(curriculum.select(10, first), curriculum.select(10, second));
        }
        assertNotEquals(curriculum.select(10, new SplittableRandom(1)), curriculum.select(10, new SplittableRandom(2)));
    }

    @Test
    void equalKeysGoToTheLowerIdAndHeavierQuestionsComeFirst() {
        RandomGenerator constant = () -> 0x4000_0000_0000_0000L; // every u equal: keys order by weight only
        QuestionCurriculum curriculum = new QuestionCurriculum(5, DEFAULTS);
        assertEquals(List.of(0, 1, 2), curriculum.select(3, constant));
        curriculum.observe(0, 1.0);
        curriculum.observe(1, 0.3);
        assertEquals(List.of(2, 3, 4, 1, 0), curriculum.select(5, constant));
    }

    @Test
    void weightsThatUnderflowStillSampleAtRandomAmongThemselves() {
        // σ = 0.001: w = exp(−125000) = 0 in double for accuracies 0 and 1; the log-space key stays finite.
        QuestionCurriculum curriculum = new QuestionCurriculum(3, new CurriculumOptions(true, 0.5, 0.001, 1.0, 0.5));
        curriculum.observe(0, 0.0);
        curriculum.observe(1, 1.0);
        assertEquals(0.0, curriculum.weight(0));
        SplittableRandom rng = new SplittableRandom(3);
        int zeroBeforeOne = 0;
        for (int i = 0; i < 1000; i++) {
            List<Integer> drawn = curriculum.select(3, rng);
            assertEquals(2, drawn.get(0));
            if (drawn.get(1) == 0) {
                zeroBeforeOne++;
            }
        }
        // Equal (log-)weights: a fair coin, 1000 tosses, 500 ± 5 · 15.8.
        assertEquals(500, zeroBeforeOne, 80);
    }

    @Test
    void countOutOfRangeIsRefused() {
        QuestionCurriculum curriculum = new QuestionCurriculum(3, DEFAULTS);
        SplittableRandom rng = new SplittableRandom(0);
        IllegalArgumentException tooMany = assertThrows(IllegalArgumentException.class,
                () -> curriculum.select(4, rng));
        assertTrue(tooMany.getMessage().contains("4") && tooMany.getMessage().contains("3"), tooMany.getMessage());
        assertThrows(IllegalArgumentException.class, () -> curriculum.select(-1, rng));
        assertEquals(List.of(), curriculum.select(0, rng));
    }

    // ---- persistence ----

    @Test
    void roundTripKeepsAccuraciesUnseenFlagsAndSelections() throws IOException {
        QuestionCurriculum original = new QuestionCurriculum(6, withSmoothing(0.5));
        original.observe(0, 1.0);
        original.observe(0, 0.0);
        original.observe(3, 0.25);
        original.observe(5, 1.0);

        QuestionCurriculum copy = QuestionCurriculum.readFrom(
                new DataInputStream(new ByteArrayInputStream(bytes(original))), withSmoothing(0.5));
        assertEquals(6, copy.questions());
        assertEquals(3, copy.seen());
        for (int q = 0; q < 6; q++) {
            assertEquals(original.runningAccuracy(q), copy.runningAccuracy(q), "question " + q); // NaN equals NaN
            assertEquals(original.weight(q), copy.weight(q), "question " + q);
        }
        assertEquals(original.select(4, new SplittableRandom(5)), copy.select(4, new SplittableRandom(5)));
        copy.observe(0, 1.0);
        assertEquals(0.75, copy.runningAccuracy(0)); // smoothing still applies to the restored value
        assertArrayEquals(bytes(original), bytes(QuestionCurriculum.readFrom(
                new DataInputStream(new ByteArrayInputStream(bytes(original))), withSmoothing(0.5))));
    }

    @Test
    void aSnapshotIsACopyThatRebuildsTheSameCurriculum() {
        QuestionCurriculum original = new QuestionCurriculum(4, withSmoothing(0.5));
        original.observe(1, 0.25);
        double[] snapshot = original.accuracies();
        assertArrayEquals(new double[] {Double.NaN, 0.25, Double.NaN, Double.NaN}, snapshot);
        snapshot[1] = 0.75;
        assertEquals(0.25, original.runningAccuracy(1), "the snapshot is a copy");
        QuestionCurriculum rebuilt = QuestionCurriculum.of(original.accuracies(), withSmoothing(0.5));
        assertEquals(1, rebuilt.seen());
        assertEquals(original.select(3, new SplittableRandom(2)), rebuilt.select(3, new SplittableRandom(2)));
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> QuestionCurriculum.of(new double[] {0.5, -0.1}, withSmoothing(0.5)));
        assertTrue(error.getMessage().contains("question 1 = -0.1"), error.getMessage());
    }

    @Test
    void wrongFormatVersionIsRefused() {
        IOException error = assertThrows(IOException.class, () -> read(2, 3, 0.5, 0.5, 0.5));
        assertTrue(error.getMessage().contains("format version 2"), error.getMessage());
        assertTrue(error.getMessage().contains("version " + QuestionCurriculum.FORMAT_VERSION), error.getMessage());
    }

    @Test
    void nonPositiveQuestionCountIsRefused() {
        IOException error = assertThrows(IOException.class, () -> read(QuestionCurriculum.FORMAT_VERSION, 0));
        assertTrue(error.getMessage().contains("question count 0"), error.getMessage());
    }

    @Test
    void truncatedStateIsRefused() {
        IOException error = assertThrows(IOException.class,
                () -> read(QuestionCurriculum.FORMAT_VERSION, 3, 0.5, Double.NaN));
        assertTrue(error.getMessage().contains("3 accuracies announced, 2 present"), error.getMessage());
    }

    @Test
    void accuracyOutsideUnitIntervalInStateIsRefused() {
        IOException error = assertThrows(IOException.class,
                () -> read(QuestionCurriculum.FORMAT_VERSION, 2, 0.5, 1.5));
        assertTrue(error.getMessage().contains("question 1 = 1.5"), error.getMessage());
    }

    // ---- construction and options ----

    @Test
    void emptyDatasetIsRefused() {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> new QuestionCurriculum(0, DEFAULTS));
        assertTrue(error.getMessage().contains("question count = 0"), error.getMessage());
    }

    @Test
    void defaultsAreValid() {
        assertDoesNotThrow(new CurriculumOptions(false, 0.5, 0.2, 1.0, 0.5)::validate);
    }

    @Test
    void optionValidationNamesKeyAndValue() {
        assertRefused(new CurriculumOptions(true, 1.2, 0.2, 1.0, 0.5), CurriculumOptions.KEY_MEAN + " = 1.2");
        assertRefused(new CurriculumOptions(true, Double.NaN, 0.2, 1.0, 0.5), CurriculumOptions.KEY_MEAN + " = NaN");
        assertRefused(new CurriculumOptions(true, 0.5, 0.0, 1.0, 0.5), CurriculumOptions.KEY_SIGMA + " = 0.0");
        assertRefused(new CurriculumOptions(true, 0.5, -0.2, 1.0, 0.5), CurriculumOptions.KEY_SIGMA + " = -0.2");
        assertRefused(new CurriculumOptions(true, 0.5, Double.POSITIVE_INFINITY, 1.0, 0.5),
                CurriculumOptions.KEY_SIGMA + " = Infinity");
        assertRefused(new CurriculumOptions(true, 0.5, 0.2, 0.0, 0.5), CurriculumOptions.KEY_SMOOTHING + " = 0.0");
        assertRefused(new CurriculumOptions(true, 0.5, 0.2, 1.1, 0.5), CurriculumOptions.KEY_SMOOTHING + " = 1.1");
        assertRefused(new CurriculumOptions(true, 0.5, 0.2, 1.0, -0.5),
                CurriculumOptions.KEY_UNSEEN_ACCURACY + " = -0.5");
        IllegalArgumentException viaConstructor = assertThrows(IllegalArgumentException.class,
                () -> new QuestionCurriculum(3, new CurriculumOptions(true, 0.5, 0.2, 0.0, 0.5)));
        assertTrue(viaConstructor.getMessage().contains(CurriculumOptions.KEY_SMOOTHING), viaConstructor.getMessage());
    }

    @Test
    void keysAreTheDocumentedOnes() {
        assertEquals("eapo.algorithm.expo.curriculum.enabled", CurriculumOptions.KEY_ENABLED);
        assertEquals("eapo.algorithm.expo.curriculum.mean", CurriculumOptions.KEY_MEAN);
        assertEquals("eapo.algorithm.expo.curriculum.sigma", CurriculumOptions.KEY_SIGMA);
        assertEquals("eapo.algorithm.expo.curriculum.smoothing", CurriculumOptions.KEY_SMOOTHING);
        assertEquals("eapo.algorithm.expo.curriculum.unseen-accuracy", CurriculumOptions.KEY_UNSEEN_ACCURACY);
    }

    private static void assertRefused(CurriculumOptions options, String expectedInMessage) {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class, options::validate);
        assertTrue(error.getMessage().contains(expectedInMessage), error.getMessage());
    }

    private static byte[] bytes(QuestionCurriculum curriculum) throws IOException {
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(buffer)) {
            curriculum.writeTo(out);
        }
        return buffer.toByteArray();
    }

    /** Reads a hand-built state: version, question count, then the given accuracies. */
    private static QuestionCurriculum read(int version, int questions, double... accuracies) throws IOException {
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(buffer)) {
            out.writeInt(version);
            out.writeInt(questions);
            for (double accuracy : accuracies) {
                out.writeDouble(accuracy);
            }
        }
        return QuestionCurriculum.readFrom(new DataInputStream(new ByteArrayInputStream(buffer.toByteArray())), DEFAULTS);
    }
}
