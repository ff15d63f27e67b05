package ai.eapo.training;

import ai.eapo.algorithm.ReplayOptions;
import ai.eapo.training.ReplayBuffer.Stored;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** ExGRPO's replay buffer against hand-computed weights, bucket and retirement rules, eviction and persistence. */
class ReplayBufferTest {

    static final int GROUP = 4;

    static ReplayOptions options(double mean, double sigma, int maxPerQuestion, int maxQuestions) {
        return new ReplayOptions(true, 0.5, 0.35, mean, sigma, maxPerQuestion, maxQuestions);
    }

    /** μ = 0.5, σ = 1 (the paper's), caps large enough not to matter. */
    static ReplayBuffer paperBuffer() {
        return new ReplayBuffer(options(0.5, 1.0, 4, 4096));
    }

    /**
     * A distinct trajectory per tag: two prompt tokens, tag % 5 + 1 response tokens, version = tag, reward penalty
     * −(tag % 3) / 4.
     */
    static Stored trajectory(int tag) {
        int length = tag % 5 + 1;
        long[] tokens = new long[length];
        float[] logProbs = new float[length];
        for (int i = 0; i < length; i++) {
            tokens[i] = 100L * tag + i;
            logProbs[i] = -0.25f * (i + 1) - tag;
        }
        return new Stored(new long[] {tag, tag + 1L}, tokens, logProbs, tag, -(tag % 3) / 4.0);
    }

    /** The trajectories of these tags, in order. */
    static List<Stored> stored(int... tags) {
        return Arrays.stream(tags).mapToObj(ReplayBufferTest::trajectory).toList();
    }

    @Test
    void samplingWeightsByHand() {
        ReplayBuffer paper = paperBuffer();
        assertEquals(1.0, paper.samplingWeight(0.5), 0.0);
        // (0 − 0.5)² / 2 = 0.125 and (1 − 0.5)² / 2 = 0.125.
        assertEquals(Math.exp(-0.125), paper.samplingWeight(0.0), 1e-15);
        assertEquals(Math.exp(-0.125), paper.samplingWeight(1.0), 1e-15);
        assertEquals(0.8824969025845955, paper.samplingWeight(0.0), 1e-15);
        // (0.25 − 0.5)² / 2 = 0.03125.
        assertEquals(Math.exp(-0.03125), paper.samplingWeight(0.25), 1e-15);
        // σ = 0.25: 2σ² = 0.125, so acc 0 → exp(−0.25 / 0.125) = exp(−2), acc 0.75 → exp(−0.5).
        ReplayBuffer narrow = new ReplayBuffer(options(0.5, 0.25, 4, 4096));
        assertEquals(Math.exp(-2.0), narrow.samplingWeight(0.0), 1e-15);
        assertEquals(Math.exp(-0.5), narrow.samplingWeight(0.75), 1e-15);
        // μ = 0.3: the peak moves with the mean.
        assertEquals(1.0, new ReplayBuffer(options(0.3, 1.0, 4, 4096)).samplingWeight(0.3), 0.0);
    }

    /**
     * Four questions with latest accuracies 0, 1/4, 2/4, 3/4 under σ = 0.25 (distinct weights): the
     * question of accuracy 0 holds trajectories from an earlier, partly correct group.
     */
    static ReplayBuffer fourBuckets() {
        ReplayBuffer buffer = new ReplayBuffer(options(0.5, 0.25, 4, 4096));
        buffer.record(10, 2, GROUP, stored(1, 2), 1);
        buffer.record(10, 0, GROUP, List.of(), 2);
        buffer.record(11, 1, GROUP, stored(3), 2);
        buffer.record(12, 2, GROUP, stored(4, 5), 2);
        buffer.record(13, 3, GROUP, stored(6, 7, 8), 2);
        return buffer;
    }

    /** Hand-computed normalised weights of {@link #fourBuckets}: e^−2, e^−0.5, 1, e^−0.5 over their sum. */
    static Map<Integer, Double> fourBucketProbabilities() {
        double[] w = {Math.exp(-2.0), Math.exp(-0.5), 1.0, Math.exp(-0.5)};
        double total = w[0] + w[1] + w[2] + w[3]; // 2.348396...
        Map<Integer, Double> p = new TreeMap<>();
        for (int i = 0; i < w.length; i++) {
            p.put(10 + i, w[i] / total);
        }
        return p;
    }

    @Test
    void singleDrawFrequenciesFollowTheNormalisedWeights() {
        ReplayBuffer buffer = fourBuckets();
        Map<Integer, Double> p = fourBucketProbabilities();
        assertEquals(0.0576288, p.get(10), 1e-7);
        assertEquals(0.4258225, p.get(12), 1e-7);
        int draws = 200_000;
        Map<Integer, Integer> hits = new TreeMap<>();
        SplittableRandom rng = new SplittableRandom(20240611L);
        for (int i = 0; i < draws; i++) {
            List<Integer> one = buffer.sample(1, rng);
            assertEquals(1, one.size());
            hits.merge(one.get(0), 1, Integer::sum);
        }
        // A frequency's standard error is sqrt(p(1 − p)/N) ≤ sqrt(0.25 / 200000) ≈ 0.00112; 5 standard errors
        // (0.0056) would be exceeded by chance with probability < 1e-6 per question, while a sampler that
        // ignored the weights (uniform 0.25) misses question 10 by 0.19 and question 12 by 0.18.
        for (Map.Entry<Integer, Double> e : p.entrySet()) {
            double frequency = hits.getOrDefault(e.getKey(), 0) / (double) draws;
            assertEquals(e.getValue(), frequency, 0.0056, "question " + e.getKey());
        }
    }

    @Test
    void pairsAreDrawnWithoutReplacementBySuccessiveWeightedDraws() {
        ReplayBuffer buffer = fourBuckets();
        Map<Integer, Double> p = fourBucketProbabilities();
        // Successive draws: P(i in the pair) = p_i + Σ_{j≠i} p_j · p_i / (1 − p_j).
        Map<Integer, Double> inclusion = new TreeMap<>();
        for (int i : p.keySet()) {
            double pi = p.get(i);
            for (int j : p.keySet()) {
                if (j != i) {
                    pi += p.get(j) * p.get(i) / (1.0 - p.get(j));
                }
            }
            inclusion.put(i, pi);
        }
        assertEquals(2.0, inclusion.values().stream().mapToDouble(Double::doubleValue).sum(), 1e-12);
        int draws = 200_000;
        Map<Integer, Integer> hits = new TreeMap<>();
        Map<Integer, Integer> first = new TreeMap<>();
        SplittableRandom rng = new SplittableRandom(99L);
        for (int n = 0; n < draws; n++) {
            List<Integer> pair = buffer.sample(2, rng);
            assertEquals(2, pair.size());
            assertNotEquals(pair.get(0), pair.get(1));
            pair.forEach(id -> hits.merge(id, 1, Integer::sum));
            first.merge(pair.get(0), 1, Integer::sum);
        }
        // Same 5-standard-error tolerance as the single draw (each frequency is a Bernoulli mean over N).
        for (int id : p.keySet()) {
            assertEquals(inclusion.get(id), hits.getOrDefault(id, 0) / (double) draws, 0.0056, "inclusion of " + id);
            assertEquals(p.get(id), first.getOrDefault(id, 0) / (double) draws, 0.0056, "first draw " + id);
        }
    }

    @Test
    void sampleIsDistinctBoundedAndOnlyFromActiveQuestions() {
        ReplayBuffer buffer = fourBuckets();
        buffer.record(20, 0, GROUP, List.of(), 3);        // known, but holds nothing
        buffer.record(21, GROUP, GROUP, stored(9, 10, 11, 12), 3); // retired at once
        assertEquals(List.of(), buffer.sample(0, new SplittableRandom(1)));
        List<Integer> all = buffer.sample(10, new SplittableRandom(1));
        assertEquals(4, all.size());
        assertEquals(Set.of(10, 11, 12, 13), new HashSet<>(all));
        assertEquals(new TreeMap<>(Map.of(10, 0.0, 11, 0.25, 12, 0.5, 13, 0.75)), buffer.candidates());
        assertThrows(IllegalArgumentException.class, () -> buffer.sample(-1, new SplittableRandom(1)));
        assertEquals(List.of(), paperBuffer().sample(3, new SplittableRandom(1)));
    }

    @Test
    void sampleDependsOnlyOnStateAndSeedNotOnRecordOrder() {
        ReplayBuffer forwards = fourBuckets();
        ReplayBuffer backwards = new ReplayBuffer(options(0.5, 0.25, 4, 4096));
        backwards.record(13, 3, GROUP, stored(6, 7, 8), 2);
        backwards.record(12, 2, GROUP, stored(4, 5), 2);
        backwards.record(11, 1, GROUP, stored(3), 2);
        backwards.record(10, 2, GROUP, stored(1, 2), 1);
        backwards.record(10, 0, GROUP, List.of(), 2);
        for (long seed = 0; seed < 50; seed++) {
            assertEquals(forwards.sample(3, new SplittableRandom(seed)), backwards.sample(3, new SplittableRandom(seed)));
        }
    }

    @Test
    void weightsThatUnderflowStillRankTheCloserQuestionFirst() {
        // σ = 0.005: 2σ² = 5e-5, so acc 1/4 has log-weight −1250 and acc 0 has −5000; both exp() to 0.0,
        // yet the 1/4 question is e^3750 times likelier and must always be drawn first.
        ReplayBuffer buffer = new ReplayBuffer(options(0.5, 0.005, 4, 4096));
        buffer.record(1, 2, GROUP, stored(1), 1);
        buffer.record(1, 0, GROUP, List.of(), 2);
        buffer.record(2, 1, GROUP, stored(2), 2);
        assertEquals(0.0, buffer.samplingWeight(0.25), 0.0);
        SplittableRandom rng = new SplittableRandom(3);
        for (int i = 0; i < 1000; i++) {
            assertEquals(List.of(2, 1), buffer.sample(2, rng));
        }
    }

    @Test
    void questionMovesBucketWhenItsAccuracyChanges() {
        ReplayBuffer buffer = paperBuffer();
        buffer.record(1, 1, GROUP, stored(1), 1);
        buffer.record(2, 1, GROUP, stored(2), 1);
        assertEquals(Map.of(0.25, 2), buffer.bucketSizes());
        buffer.record(1, 3, GROUP, stored(3, 4, 5), 2);
        assertEquals(new TreeMap<>(Map.of(0.25, 1, 0.75, 1)), buffer.bucketSizes());
        assertEquals(0.75, buffer.accuracy(1), 0.0);
        assertEquals(4, buffer.trajectories(1).size());
        // 0 correct: the bucket follows the new accuracy, the old trajectories stay.
        buffer.record(1, 0, GROUP, List.of(), 3);
        assertEquals(new TreeMap<>(Map.of(0.0, 1, 0.25, 1)), buffer.bucketSizes());
        assertEquals(stored(1, 3, 4, 5), buffer.trajectories(1));
        // A question that never held a trajectory is known but in no bucket.
        buffer.record(7, 0, GROUP, List.of(), 3);
        assertEquals(0.0, buffer.accuracy(7), 0.0);
        assertEquals(2, buffer.size());
        assertEquals(new TreeMap<>(Map.of(0.0, 1, 0.25, 1)), buffer.bucketSizes());
        assertTrue(Double.isNaN(buffer.accuracy(8)));
    }

    @Test
    void solvedQuestionIsRetiredForGood() {
        ReplayBuffer buffer = paperBuffer();
        buffer.record(1, 2, GROUP, stored(1, 2), 1);
        buffer.record(2, 1, GROUP, stored(3), 1);
        assertEquals(3, buffer.trajectoryCount());
        buffer.record(1, GROUP, GROUP, stored(4, 5, 6, 7), 2);
        assertTrue(buffer.isRetired(1));
        assertFalse(buffer.isRetired(2));
        assertEquals(1, buffer.retiredCount());
        assertEquals(List.of(), buffer.trajectories(1));
        assertEquals(1, buffer.size());
        assertEquals(1, buffer.trajectoryCount());
        assertEquals(1.0, buffer.accuracy(1), 0.0);
        assertEquals(Map.of(0.25, 1), buffer.bucketSizes());
        // Later groups of a retired question are ignored, even unsolved ones.
        buffer.record(1, 1, GROUP, stored(8), 3);
        assertTrue(buffer.isRetired(1));
        assertEquals(List.of(), buffer.trajectories(1));
        assertEquals(1.0, buffer.accuracy(1), 0.0);
        SplittableRandom rng = new SplittableRandom(5);
        for (int i = 0; i < 1000; i++) {
            assertEquals(List.of(2), buffer.sample(2, rng));
        }
    }

    @Test
    void perQuestionCapKeepsTheNewest() {
        ReplayBuffer buffer = new ReplayBuffer(options(0.5, 1.0, 3, 4096));
        buffer.record(1, 2, GROUP, stored(1, 2), 1);
        buffer.record(1, 2, GROUP, stored(3, 4), 2);
        assertEquals(stored(2, 3, 4), buffer.trajectories(1)); // 1, the oldest, went first
        buffer.record(1, 1, GROUP, stored(5), 3);
        assertEquals(stored(3, 4, 5), buffer.trajectories(1));
        // Within one group the later responses count as newer.
        buffer.record(1, 5, 8, stored(6, 7, 8, 9, 10), 4);
        assertEquals(stored(8, 9, 10), buffer.trajectories(1));
        assertEquals(3, buffer.trajectoryCount());
    }

    @Test
    void questionCapEvictsTheOldestRecordedQuestionLowestIdOnTies() {
        ReplayBuffer buffer = new ReplayBuffer(options(0.5, 1.0, 4, 2));
        buffer.record(7, 1, GROUP, stored(1), 1);
        buffer.record(4, 2, GROUP, stored(2, 3), 1);
        buffer.record(8, 1, GROUP, stored(4), 2);
        // 4 and 7 were both last recorded at step 1: the lower id, 4, goes.
        assertEquals(2, buffer.size());
        assertEquals(List.of(), buffer.trajectories(4));
        assertEquals(stored(1), buffer.trajectories(7));
        assertEquals(0.5, buffer.accuracy(4), 0.0); // evicted, not forgotten
        // A 0-correct group still counts as a record: 7 is now newer than 8.
        buffer.record(7, 0, GROUP, List.of(), 3);
        buffer.record(2, 3, GROUP, stored(5), 3);
        assertEquals(List.of(), buffer.trajectories(8));
        assertEquals(stored(1), buffer.trajectories(7));
        assertEquals(stored(5), buffer.trajectories(2));
        // An evicted question comes back with its next correct group.
        buffer.record(4, 1, GROUP, stored(6), 4);
        assertEquals(stored(6), buffer.trajectories(4));
        assertEquals(List.of(), buffer.trajectories(2)); // step 3, tied with 7: the lower id goes
        assertEquals(stored(1), buffer.trajectories(7));
        assertEquals(2, buffer.size());
        // Questions holding nothing do not count against the cap.
        buffer.record(30, 0, GROUP, List.of(), 5);
        assertEquals(2, buffer.size());
        assertEquals(stored(1), buffer.trajectories(7));
    }

    @Test
    void inconsistentRecordsAreRefused() {
        ReplayBuffer buffer = paperBuffer();
        assertThrows(IllegalArgumentException.class, () -> buffer.record(1, 5, GROUP, List.of(), 1));
        assertThrows(IllegalArgumentException.class, () -> buffer.record(1, -1, GROUP, List.of(), 1));
        assertThrows(IllegalArgumentException.class, () -> buffer.record(1, 0, 0, List.of(), 1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> buffer.record(1, 1, GROUP, stored(1, 2), 1));
        assertTrue(e.getMessage().contains("2 correct responses given but only 1"), e.getMessage());
        assertTrue(Double.isNaN(buffer.accuracy(1)));
        assertThrows(IllegalArgumentException.class,
                () -> new ReplayBuffer(options(0.5, 0.0, 4, 4096)));
    }

    @Test
    void storedNeedsALogProbPerTokenAndOwnsItsArrays() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Stored(new long[] {1}, new long[] {2, 3}, new float[] {-1f}, 0, 0));
        assertTrue(e.getMessage().contains("2 tokens, 1 log-probs"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new Stored(new long[] {1}, new long[] {2}, new float[] {-1f}, 0, 0.5));
        assertTrue(e.getMessage().contains("penalty must be <= 0, got 0.5"), e.getMessage());
        long[] tokens = {5, 6};
        Stored s = new Stored(new long[] {1}, tokens, new float[] {-1f, -2f}, 3, -0.5);
        tokens[0] = 99;
        assertEquals(5, s.tokens()[0]);
        assertEquals(new Stored(new long[] {1}, new long[] {5, 6}, new float[] {-1f, -2f}, 3, -0.5), s);
        assertNotEquals(new Stored(new long[] {1}, new long[] {5, 6}, new float[] {-1f, -2f}, 4, -0.5), s);
        assertNotEquals(new Stored(new long[] {1}, new long[] {5, 6}, new float[] {-1f, -2f}, 3, 0), s);
    }

    @Test
    void writeThenReadGivesTheSameBuffer() throws IOException {
        ReplayOptions options = options(0.5, 0.25, 3, 4);
        ReplayBuffer original = new ReplayBuffer(options);
        original.record(10, 2, GROUP, stored(1, 2), 1);
        original.record(10, 0, GROUP, List.of(), 2);       // accuracy 0, keeps trajectories
        original.record(11, 1, GROUP, stored(3), 2);
        original.record(12, 3, GROUP, stored(4, 5, 6), 3);
        original.record(12, 2, GROUP, stored(7, 8), 4);    // capped at 3
        original.record(13, GROUP, GROUP, List.of(), 4);   // retired
        original.record(14, 0, GROUP, List.of(), 4);       // known, holds nothing
        original.record(15, 1, GROUP, stored(9), 5);
        original.record(16, 1, GROUP, stored(10), 5);      // evicts 10 (step 2, lower id than 11)

        ReplayBuffer reloaded = roundTrip(original, options);

        assertSameQueries(original, reloaded);
        for (long seed = 0; seed < 20; seed++) {
            assertEquals(original.sample(3, new SplittableRandom(seed)), reloaded.sample(3, new SplittableRandom(seed)));
        }
        // The record steps survive too: the same next group evicts the same question (11, step 2) in both.
        original.record(17, 1, GROUP, stored(11), 6);
        reloaded.record(17, 1, GROUP, stored(11), 6);
        assertEquals(List.of(), reloaded.trajectories(11));
        assertSameQueries(original, reloaded);
        // And it round-trips again byte for byte.
        assertEquals(HexFormat.of().formatHex(bytes(original)),
                HexFormat.of().formatHex(bytes(reloaded)));
    }

    @Test
    void aBufferSavedBeforeTrajectoriesCarriedAPenaltyReadsWithPenaltyZero() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeInt(1);                  // format 1
            out.writeInt(1);                  // one question
            out.writeInt(42);
            out.writeDouble(0.25);
            out.writeLong(7);
            out.writeInt(1);                  // one trajectory: version, prompt, tokens, log-probs
            out.writeLong(6);
            out.writeInt(1);
            out.writeLong(3);
            out.writeInt(2);
            out.writeLong(4);
            out.writeLong(5);
            out.writeInt(2);
            out.writeFloat(-1f);
            out.writeFloat(-2f);
            out.writeInt(0);                  // nothing retired
        }
        ReplayBuffer read = ReplayBuffer.readFrom(new DataInputStream(new ByteArrayInputStream(bytes.toByteArray())),
                options(0.5, 1.0, 4, 4096));
        assertEquals(List.of(new Stored(new long[] {3}, new long[] {4, 5}, new float[] {-1f, -2f}, 6, 0)),
                read.trajectories(42));
        assertEquals(0.25, read.accuracy(42), 0.0);
    }

    @Test
    void readingUnderTighterCapsAppliesThem() throws IOException {
        ReplayBuffer original = new ReplayBuffer(options(0.5, 1.0, 4, 4096));
        original.record(1, 3, GROUP, stored(1, 2, 3), 1);
        original.record(2, 1, GROUP, stored(4), 2);
        ReplayBuffer reloaded = roundTrip(original, options(0.5, 1.0, 2, 1));
        assertEquals(1, reloaded.size());
        assertEquals(List.of(), reloaded.trajectories(1));
        assertEquals(stored(4), reloaded.trajectories(2));
        assertEquals(0.75, reloaded.accuracy(1), 0.0);
    }

    @Test
    void unknownFormatVersionIsRefused() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        new DataOutputStream(bytes).writeInt(99);
        IOException e = assertThrows(IOException.class, () -> ReplayBuffer.readFrom(
                new DataInputStream(new ByteArrayInputStream(bytes.toByteArray())), options(0.5, 1.0, 4, 4096)));
        assertEquals("replay buffer format version 99 is not supported (this build reads "
                + ReplayBuffer.FORMAT_VERSION + ")", e.getMessage());
    }

    @Test
    void truncatedStreamIsAnIOException() throws IOException {
        byte[] whole = bytes(fourBuckets());
        byte[] cut = Arrays.copyOf(whole, whole.length - 3);
        assertThrows(IOException.class, () -> ReplayBuffer.readFrom(
                new DataInputStream(new ByteArrayInputStream(cut)), options(0.5, 0.25, 4, 4096)));
    }

    static byte[] bytes(ReplayBuffer buffer) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            buffer.writeTo(out);
        }
        return bytes.toByteArray();
    }

    static ReplayBuffer roundTrip(ReplayBuffer buffer, ReplayOptions options) throws IOException {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes(buffer)))) {
            return ReplayBuffer.readFrom(in, options);
        }
    }

    static void assertSameQueries(ReplayBuffer expected, ReplayBuffer actual) {
        assertEquals(expected.size(), actual.size());
        assertEquals(expected.trajectoryCount(), actual.trajectoryCount());
        assertEquals(expected.retiredCount(), actual.retiredCount());
        assertEquals(expected.bucketSizes(), actual.bucketSizes());
        assertEquals(expected.candidates(), actual.candidates());
        for (int id = 0; id < 30; id++) {
            assertEquals(expected.isRetired(id), actual.isRetired(id), "retired " + id);
            assertEquals(expected.accuracy(id), actual.accuracy(id), 0.0, "accuracy " + id);
            assertEquals(expected.trajectories(id), actual.trajectories(id), "trajectories " + id);
        }
    }
}
