package ai.eapo.model;

import ai.djl.Device;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The prior's per-sequence caches change no answer, and spare it re-reading a response at every consultation. */
class LocalPriorTest {

    static final SamplingParams PARAMS = new SamplingParams(1.0, 1.0, 0);
    static PolicyModel prior;

    @BeforeAll
    static void load() {
        prior = Checkpoint.load(Path.of("models/tiny-prior"), Device.cpu());
    }

    @AfterAll
    static void close() {
        prior.close();
    }

    @Test
    void sequencesCatchingUpOnTheirCachesGetTheAnswersOfAFreshPriorAndAreReadOnce() {
        Random r = new Random(7);
        // Sequence 0 consults at p, p + 5, p + 6 and p + 20 (sparse critical positions), sequence 1 at every token,
        // both in the same calls: one extend mixes catch-ups by 5 and 14 tokens with single steps.
        long[] a = randomIds(r, 30);
        long[] b = randomIds(r, 9);
        int[] aAt = {10, 15, 16, 30};
        int[] bAt = {6, 7, 8, 9};
        try (LocalPrior cached = new LocalPrior(prior, PARAMS)) {
            for (int call = 0; call < aAt.length; call++) {
                List<ExperiencePrior.Consultation> asked = List.of(
                        new ExperiencePrior.Consultation(0, Arrays.copyOf(a, aAt[call]), 0.1 + 0.2 * call),
                        new ExperiencePrior.Consultation(1, Arrays.copyOf(b, bAt[call]), 0.9 - 0.2 * call));
                assertSameDraws(asked, cached.consult(asked), "call " + call);
            }
            assertEquals(a.length + b.length, cached.tokensFed(), "each token is fed to the prior once");

            // A retry after a restart asks with a shorter history than the cache holds: it is prefilled again.
            List<ExperiencePrior.Consultation> retry =
                    List.of(new ExperiencePrior.Consultation(0, Arrays.copyOf(a, 20), 0.5));
            assertSameDraws(retry, cached.consult(retry), "retry");
            assertEquals(a.length + b.length + 20, cached.tokensFed());
        }
    }

    @Test
    void withoutTheCacheAnAnswerHasTheSameBitsHoweverItIsBatchedOrAfterARestart() {
        Random r = new Random(11);
        long[] a = randomIds(r, 40);
        long[] b = randomIds(r, 25);
        ExperiencePrior.Consultation aAt30 = new ExperiencePrior.Consultation(0, Arrays.copyOf(a, 30), 0.3);
        ExperiencePrior.Consultation bAt25 = new ExperiencePrior.Consultation(1, b, 0.6);
        List<ExperiencePrior.Draw> together;
        List<ExperiencePrior.Draw> alone = new java.util.ArrayList<>();
        try (LocalPrior first = new LocalPrior(prior, PARAMS, false)) {
            // Earlier consultations of sequence 0 (a cache would have been built in these pieces).
            first.consult(List.of(new ExperiencePrior.Consultation(0, Arrays.copyOf(a, 12), 0.2)));
            first.consult(List.of(new ExperiencePrior.Consultation(0, Arrays.copyOf(a, 21), 0.2)));
            together = first.consult(List.of(aAt30, bAt25));
            assertSameDraws(List.of(aAt30, bAt25), together, "the same answers as the cached prior's");
        }
        try (LocalPrior restarted = new LocalPrior(prior, PARAMS, false)) {
            alone.add(restarted.consult(List.of(aAt30)).get(0));
            alone.add(restarted.consult(List.of(bAt25)).get(0));
        }
        for (int i = 0; i < 2; i++) {
            assertEquals(together.get(i).token(), alone.get(i).token());
            assertEquals(Float.floatToIntBits(together.get(i).logProb()), Float.floatToIntBits(alone.get(i).logProb()),
                    "bit for bit, sequence " + i);
        }
    }

    /** {@code actual} equals the answers of a prior without caches, asked {@code asked} once. */
    static void assertSameDraws(List<ExperiencePrior.Consultation> asked, List<ExperiencePrior.Draw> actual,
                                String what) {
        List<ExperiencePrior.Draw> expected;
        try (LocalPrior fresh = new LocalPrior(prior, PARAMS)) {
            expected = fresh.consult(asked);
        }
        assertEquals(asked.size(), actual.size(), what);
        for (int i = 0; i < asked.size(); i++) {
            assertEquals(expected.get(i).token(), actual.get(i).token(), what + ", sequence " + asked.get(i).sequenceId());
            assertEquals(expected.get(i).logProb(), actual.get(i).logProb(), 1e-4f, what + ", sequence " + asked.get(i).sequenceId());
        }
    }

    static long[] randomIds(Random r, int n) {
        return r.longs(n, 3, 128).toArray();
    }
}
