package ai.eapo.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The cached, continuously batched decoder computes exactly what the full forward pass computes. */
class DecodeBatchTest {

    static final double TOLERANCE = 1e-4;
    static PolicyModel model;

    @BeforeAll
    static void load() {
        model = Checkpoint.load(GoldenLogitsTest.FIXTURE, Device.cpu());
    }

    @AfterAll
    static void close() {
        model.close();
    }

    static long[] randomIds(Random r, int n) {
        long[] ids = new long[n];
        for (int i = 0; i < n; i++) {
            ids[i] = 3 + r.nextInt(250);
        }
        return ids;
    }

    static float[][] fullLogits(long[] ids, NDManager m) {
        NDArray logits = model.logits(m.create(ids, new Shape(1, ids.length))).squeeze(0);
        float[][] out = new float[ids.length][];
        for (int i = 0; i < ids.length; i++) {
            out[i] = logits.get(i).toFloatArray();
        }
        return out;
    }

    static void assertClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        double max = 0;
        for (int i = 0; i < expected.length; i++) {
            max = Math.max(max, Math.abs(expected[i] - actual[i]));
        }
        assertTrue(max < TOLERANCE, what + ": max |diff| = " + max);
    }

    @Test
    void incrementalDecodeEqualsFullForwardAtEveryPosition() {
        long[] ids = randomIds(new Random(1), 150); // runs past the first cache capacity (64): growth is covered
        try (NDManager m = NDManager.newBaseManager(); DecodeBatch batch = new DecodeBatch(model)) {
            float[][] full = fullLogits(ids, m);
            int prompt = 3;
            NDArray first = batch.join(List.of(7L), List.of(java.util.Arrays.copyOf(ids, prompt)), m);
            assertClose(full[prompt - 1], first.get(0).toFloatArray(), "after prefill");
            for (int t = prompt; t < ids.length; t++) {
                NDArray logits = batch.step(new long[]{ids[t]}, m);
                assertClose(full[t], logits.get(0).toFloatArray(), "position " + t);
            }
        }
    }

    @Test
    void sequencesJoiningAndLeavingTogetherEqualEachDecodedAlone() {
        Random r = new Random(2);
        // id -> (prompt length, total length, step at which it joins)
        int[][] plan = {{2, 30, 0}, {5, 12, 0}, {9, 40, 4}, {1, 20, 10}};
        long[][] seqs = new long[plan.length][];
        try (NDManager m = NDManager.newBaseManager(); DecodeBatch batch = new DecodeBatch(model)) {
            float[][][] full = new float[plan.length][][];
            for (int s = 0; s < plan.length; s++) {
                seqs[s] = randomIds(r, plan[s][1]);
                full[s] = fullLogits(seqs[s], m);
            }
            Map<Long, Integer> fed = new HashMap<>(); // next position to feed per sequence
            int checked = 0;
            for (int step = 0; step < 60; step++) {
                List<Long> rows = batch.sequenceIds();
                if (!rows.isEmpty()) {
                    long[] tokens = rows.stream().mapToLong(id -> seqs[id.intValue()][fed.get(id)]).toArray();
                    NDArray logits = batch.step(tokens, m);
                    for (int row = 0; row < rows.size(); row++) {
                        int s = rows.get(row).intValue();
                        assertClose(full[s][fed.get((long) s)], logits.get(row).toFloatArray(), "seq " + s + " pos " + fed.get((long) s));
                        fed.merge((long) s, 1, Integer::sum);
                        checked++;
                    }
                    List<Long> done = new ArrayList<>();
                    for (Long id : batch.sequenceIds()) {
                        if (fed.get(id) >= seqs[id.intValue()].length) {
                            done.add(id);
                        }
                    }
                    batch.leave(done);
                }
                for (int s = 0; s < plan.length; s++) {
                    if (plan[s][2] == step) {
                        long[] prompt = java.util.Arrays.copyOf(seqs[s], plan[s][0]);
                        NDArray logits = batch.join(List.of((long) s), List.of(prompt), m);
                        assertClose(full[s][plan[s][0] - 1], logits.get(0).toFloatArray(), "seq " + s + " prefill");
                        fed.put((long) s, plan[s][0]);
                    }
                }
            }
            assertEquals(0, batch.size(), "every sequence left");
            int expected = 0;
            for (int[] p : plan) {
                expected += p[1] - p[0];
            }
            assertEquals(expected, checked);
        }
    }

    @Test
    void extendingRowsByDifferentCountsEqualsFullForwardAndStepsGoOnFromThere() {
        Random r = new Random(6);
        int[] prompts = {5, 2, 30, 11};
        // Tokens each row is fed per extend call; the third call takes row 2 from 33 to 83 tokens, past the
        // first cache capacity (64), while the others are in the batch.
        int[][] feeds = {{0, 1, 3, 7}, {7, 3, 0, 1}, {40, 0, 50, 2}};
        int steps = 3;
        try (NDManager m = NDManager.newBaseManager(); DecodeBatch batch = new DecodeBatch(model)) {
            long[][] seqs = new long[prompts.length][];
            float[][][] full = new float[prompts.length][][];
            List<Long> ids = new ArrayList<>();
            List<long[]> firstTokens = new ArrayList<>();
            int[] fed = prompts.clone();
            for (int s = 0; s < prompts.length; s++) {
                int total = prompts[s] + steps;
                for (int[] feed : feeds) {
                    total += feed[s];
                }
                seqs[s] = randomIds(r, total);
                full[s] = fullLogits(seqs[s], m);
                ids.add((long) s);
                firstTokens.add(java.util.Arrays.copyOf(seqs[s], prompts[s]));
            }
            batch.join(ids, firstTokens, m);
            for (int call = 0; call < feeds.length; call++) {
                List<long[]> newTokens = new ArrayList<>();
                for (int s = 0; s < prompts.length; s++) {
                    newTokens.add(java.util.Arrays.copyOfRange(seqs[s], fed[s], fed[s] + feeds[call][s]));
                    fed[s] += feeds[call][s];
                }
                NDArray logits = batch.extend(newTokens, m);
                for (int s = 0; s < prompts.length; s++) {
                    if (feeds[call][s] > 0) {
                        assertClose(full[s][fed[s] - 1], logits.get(s).toFloatArray(), "call " + call + " seq " + s);
                    }
                }
            }
            for (int t = 0; t < steps; t++) {
                long[] tokens = new long[prompts.length];
                for (int s = 0; s < prompts.length; s++) {
                    tokens[s] = seqs[s][fed[s]++];
                }
                NDArray logits = batch.step(tokens, m);
                for (int s = 0; s < prompts.length; s++) {
                    assertClose(full[s][fed[s] - 1], logits.get(s).toFloatArray(), "step " + t + " seq " + s);
                }
            }
        }
    }

    @Test
    void generationDoesNotDependOnBatching() {
        Random r = new Random(3);
        List<Generator.Request> requests = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            requests.add(new Generator.Request(i, randomIds(r, 1 + 3 * i), 5 + 4 * i, 100 + i));
        }
        SamplingParams params = new SamplingParams(1.0, 0.9, 50);
        var alone = new Generator(model, params, Set.of(2L), 1).generate(requests);
        var together = new Generator(model, params, Set.of(2L), 4).generate(requests);
        for (int i = 0; i < requests.size(); i++) {
            assertArrayEquals(alone.get(i).tokens(), together.get(i).tokens(), "request " + i);
            assertArrayEquals(alone.get(i).logProbs(), together.get(i).logProbs(), 1e-4f, "request " + i);
        }
    }

    @Test
    void samplingIsSeededAndFollowsTheDistribution() {
        // One fixed logit row sampled many times: empirical frequencies match softmax within sampling error.
        try (NDManager m = NDManager.newBaseManager()) {
            float[] row = {2f, 1f, 0f, -1f};
            int n = 4000;
            float[] rows = new float[n * row.length];
            for (int i = 0; i < n; i++) {
                System.arraycopy(row, 0, rows, i * row.length, row.length);
            }
            double[] u = new Random(5).doubles(n).toArray();
            TokenSampler.Draw draw = TokenSampler.sample(m.create(rows, new Shape(n, row.length)), new SamplingParams(1, 1, 0), u);
            double z = 0;
            for (float v : row) {
                z += Math.exp(v);
            }
            int[] counts = new int[row.length];
            for (long t : draw.tokens()) {
                counts[(int) t]++;
            }
            for (int k = 0; k < row.length; k++) {
                double p = Math.exp(row[k]) / z;
                double sd = Math.sqrt(p * (1 - p) / n);
                assertEquals(p, counts[k] / (double) n, 4 * sd, "token " + k);
                assertEquals(Math.log(p), draw.logProbs()[k == 0 ? indexOf(draw.tokens(), 0) : indexOf(draw.tokens(), k)], 1e-5);
            }
            TokenSampler.Draw topK = TokenSampler.sample(m.create(rows, new Shape(n, row.length)), new SamplingParams(1, 1, 2), u);
            double kept = (Math.exp(row[0]) + Math.exp(row[1])) / z;
            for (int i = 0; i < n; i++) {
                long t = topK.tokens()[i];
                assertTrue(t < 2, "top-k 2 drew token " + t);
                // The behaviour log-prob is that of the distribution drawn from: the top 2, renormalised.
                assertEquals(kept, topK.keptMass()[i], 1e-5, "kept mass");
                assertEquals(row[(int) t] - Math.log(z) - Math.log(kept), topK.sampledLogProbs()[i], 1e-5);
                assertEquals(row[(int) t] - Math.log(z), topK.logProbs()[i], 1e-5, "the full softmax's log-prob");
            }
            assertArrayEquals(draw.logProbs(), draw.sampledLogProbs(), "nothing cut: the same distribution");
        }
    }

    private static int indexOf(long[] a, long v) {
        for (int i = 0; i < a.length; i++) {
            if (a[i] == v) {
                return i;
            }
        }
        throw new AssertionError("token " + v + " never drawn");
    }

    @Test
    void twoThousandDecodeStepsKeepNativeMemoryFlat() throws Exception {
        Random r = new Random(4);
        Generator generator = new Generator(model, new SamplingParams(1.0, 1.0, 0), Set.of(), 8);
        int arraysBefore = ((ai.djl.ndarray.BaseNDManager) model.manager()).getManagedArrays().size();
        long baselineKb = 0;
        for (int round = 0; round < 20; round++) { // 20 rounds x 100 decode steps of 8 sequences
            List<Generator.Request> requests = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                requests.add(new Generator.Request(i, randomIds(r, 4), 100, round * 8L + i));
            }
            generator.generate(requests);
            if (round == 2) {
                baselineKb = nativeKb();
            }
        }
        int arraysAfter = ((ai.djl.ndarray.BaseNDManager) model.manager()).getManagedArrays().size();
        assertEquals(arraysBefore, arraysAfter, "NDArrays still alive after 2,000 decode steps");
        long growthMb = (nativeKb() - baselineKb) / 1024;
        assertTrue(growthMb < 48, "native memory grew by " + growthMb + " MiB over 2,000 decode steps");
    }

    @Test
    void aLongLivedDecoderKeepsNativeMemoryFlat() throws Exception {
        // A Sampler keeps one decoder for the whole run, sequences joining as others finish: anything a decode
        // step leaves in the cache's manager piles up (one cache-sized array per layer and step, once).
        Random r = new Random(5);
        long nextId = 0;
        long baselineKb = 0;
        int baselineArrays = 0;
        try (ContinuousDecoder decoder = new ContinuousDecoder(model, new SamplingParams(1.0, 1.0, 0), Set.of(), 8,
                ContinuousDecoder.CriticalPositions.NONE)) {
            for (int step = 0; step < 800; step++) {
                while (decoder.inFlight() < 8) {
                    decoder.submit(new Generator.Request(nextId, randomIds(r, 4), 40 + r.nextInt(60), nextId));
                    nextId++;
                }
                decoder.step();
                if (step == 100) {
                    baselineKb = nativeKb();
                    baselineArrays = arrays();
                }
            }
            int growth = arrays() - baselineArrays;
            assertTrue(growth < 100, growth + " more NDArrays alive after 700 more steps of one decoder");
        }
        long growthMb = (nativeKb() - baselineKb) / 1024;
        assertTrue(growthMb < 48, "native memory grew by " + growthMb + " MiB over 700 steps of one decoder");
    }

    /** Arrays alive under the model's manager and its sub-managers (the decoders' caches among them). */
    static int arrays() {
        return ((ai.djl.ndarray.BaseNDManager) model.manager()).getManagedArrays().size();
    }

    /** Resident memory; the test JVM's heap is fixed and pre-touched (see pom.xml), so growth is native. */
    static long nativeKb() throws Exception {
        return residentKb();
    }

    static long residentKb() throws Exception {
        System.gc();
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("\\D", ""));
            }
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }
}
