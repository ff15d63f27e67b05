package ai.eapo.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.eapo.algorithm.CriticalPointPolicy;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Experience-augmented decoding: τ decides where the prior's tokens replace the policy's. */
class ExperienceDecodingTest {

    static final SamplingParams PARAMS = new SamplingParams(1.0, 1.0, 0);
    static PolicyModel policy;
    static PolicyModel prior;

    @BeforeAll
    static void models() {
        ModelConfig config = ModelConfig.qwen2(40, 32, 64, 2, 4, 2, true, List.of(0));
        policy = PolicyModel.random(config, Device.cpu(), 1, 0.3f);
        prior = PolicyModel.random(config, Device.cpu(), 2, 0.3f);
    }

    @AfterAll
    static void close() {
        policy.close();
        prior.close();
    }

    static List<Generator.Request> requests(boolean experience) {
        List<Generator.Request> out = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            out.add(new Generator.Request(i, new long[]{1 + i, 5, 7 + i}, 12 + i, 40 + i, experience && i % 2 == 0));
        }
        return out;
    }

    /** Counts consultations on the way to a real local prior. */
    static final class CountingPrior implements ExperiencePrior {
        final LocalPrior inner = new LocalPrior(prior, PARAMS);
        final AtomicInteger consulted = new AtomicInteger();

        @Override
        public List<Draw> consult(List<Consultation> consultations) {
            consulted.addAndGet(consultations.size());
            return inner.consult(consultations);
        }

        @Override
        public void release(long sequenceId) {
            inner.release(sequenceId);
        }
    }

    @Test
    void infiniteTauIsExactlyOrdinarySampling() {
        CountingPrior counting = new CountingPrior();
        CriticalPointPolicy never = new CriticalPointPolicy(Double.POSITIVE_INFINITY);
        var plain = new Generator(policy, PARAMS, Set.of(0L), 4).generate(requests(false));
        var augmented = new Generator(policy, PARAMS, Set.of(0L), 4,
                new Generator.Experience(counting, never::isCritical)).generate(requests(true));
        assertEquals(0, counting.consulted.get());
        for (int i = 0; i < plain.size(); i++) {
            assertArrayEquals(plain.get(i).tokens(), augmented.get(i).tokens());
            assertArrayEquals(plain.get(i).logProbs(), augmented.get(i).logProbs());
            assertEquals(0, augmented.get(i).resampledCount());
        }
        counting.inner.close();
    }

    @Test
    void zeroTauTakesEveryExperienceTokenFromThePriorWithTheRightLogProbs() {
        CountingPrior counting = new CountingPrior();
        CriticalPointPolicy always = new CriticalPointPolicy(0.0);
        List<Generator.Request> requests = requests(true);
        var out = new Generator(policy, PARAMS, Set.of(0L), 4,
                new Generator.Experience(counting, always::isCritical)).generate(requests);
        int experienceTokens = 0;
        try (NDManager m = NDManager.newBaseManager()) {
            for (int i = 0; i < out.size(); i++) {
                Generator.Completion c = out.get(i);
                long[] full = concat(requests.get(i).prompt(), c.tokens());
                float[] policyLp = logProbs(policy, full, m);
                float[] priorLp = logProbs(prior, full, m);
                int offset = requests.get(i).prompt().length - 1;
                for (int t = 0; t < c.tokens().length; t++) {
                    assertEquals(c.experience(), c.resampled()[t], "request " + i + " token " + t);
                    float expectedBehaviour = c.experience() ? priorLp[offset + t] : policyLp[offset + t];
                    assertEquals(expectedBehaviour, c.logProbs()[t], 1e-4, "behaviour log-prob, request " + i + " token " + t);
                    assertEquals(policyLp[offset + t], c.policyLogProbs()[t], 1e-4, "policy log-prob, request " + i + " token " + t);
                }
                experienceTokens += c.experience() ? c.tokens().length : 0;
            }
        }
        assertEquals(experienceTokens, counting.consulted.get());
        assertEquals(0, counting.inner.cachedSequences(), "prior caches are freed when sequences end");
        assertFalse(out.get(1).experience());
        assertTrue(out.get(0).resampledCount() > 0);
        counting.inner.close();
    }

    /** log p(x[t+1] | x[..t]) for every t under {@code model}, from one full forward pass. */
    static float[] logProbs(PolicyModel model, long[] ids, NDManager m) {
        long[] in = java.util.Arrays.copyOf(ids, ids.length - 1);
        long[] targets = java.util.Arrays.copyOfRange(ids, 1, ids.length);
        NDArray lp = model.tokenLogProbs(m.create(in, new Shape(1, in.length)), m.create(targets, new Shape(1, targets.length)), 1f);
        return lp.squeeze(0).toFloatArray();
    }

    static long[] concat(long[] a, long[] b) {
        long[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void sequencesConsultingInAlternatingCallsKeepTheirCachesAndGetTheSameAnswers() {
        // Two phases, as when a sampler's groups started at different times: A = {0, 1}, B = {2, 3}, A, B, ...
        long[][] tokens = {{1, 5, 9}, {2, 6}, {3, 7, 11, 4}, {4, 8, 12}};
        try (LocalPrior alternating = new LocalPrior(prior, PARAMS)) {
            for (int round = 0; round < 4; round++) {
                for (int phase = 0; phase < 2; phase++) {
                    List<ExperiencePrior.Consultation> asked = new ArrayList<>();
                    for (int id = 2 * phase; id < 2 * phase + 2; id++) {
                        asked.add(new ExperiencePrior.Consultation(id, tokens[id], 0.1 + 0.2 * id));
                    }
                    List<ExperiencePrior.Draw> answers = alternating.consult(asked);
                    try (LocalPrior fresh = new LocalPrior(prior, PARAMS)) {
                        List<ExperiencePrior.Draw> expected = fresh.consult(asked);
                        for (int i = 0; i < asked.size(); i++) {
                            assertEquals(expected.get(i).token(), answers.get(i).token(), "round " + round);
                            assertEquals(expected.get(i).logProb(), answers.get(i).logProb(), 1e-4f, "round " + round);
                        }
                    }
                    for (int i = 0; i < asked.size(); i++) {
                        int id = 2 * phase + i;
                        tokens[id] = concat(tokens[id], new long[] {answers.get(i).token()});
                    }
                    if (round > 0 || phase > 0) {
                        assertEquals(4, alternating.cachedSequences(), "the idle phase's caches are kept");
                    }
                }
            }
        }
    }

    @Test
    void parkedSequencesWaitingForLateAnswersEndExactlyAsWithImmediateAnswers() {
        // τ between the policy's entropies, so some positions of the experience requests are critical.
        double tau = 3.0;
        List<Generator.Completion> immediate;
        try (LocalPrior answering = new LocalPrior(prior, PARAMS)) {
            immediate = new Generator(policy, PARAMS, Set.of(0L), 4,
                    new Generator.Experience(answering, h -> h > tau)).generate(requests(true));
        }
        // The same requests, but each step's questions are answered only three steps later, while every
        // other row keeps decoding (the Sampler actor's situation when the prior is slow).
        java.util.Map<Long, Generator.Completion> late = new java.util.HashMap<>();
        List<List<ExperiencePrior.Consultation>> pending = new ArrayList<>();
        int parkedAtOnce = 0;
        try (LocalPrior answering = new LocalPrior(prior, PARAMS);
             ContinuousDecoder decoder = new ContinuousDecoder(policy, PARAMS, Set.of(0L), 4, (id, h) -> h > tau)) {
            requests(true).forEach(decoder::submit);
            while (!decoder.idle()) {
                if (decoder.canStep()) {
                    ContinuousDecoder.StepResult step = decoder.step();
                    step.finished().forEach(c -> late.put(c.id(), c));
                    pending.add(step.consultations());
                    parkedAtOnce = Math.max(parkedAtOnce, decoder.parkedCount());
                } else {
                    pending.add(List.of());
                }
                if (pending.size() > 3 || !decoder.canStep()) {
                    List<ExperiencePrior.Consultation> due = pending.remove(0);
                    if (!due.isEmpty()) {
                        decoder.resume(due.stream().map(ExperiencePrior.Consultation::sequenceId).toList(),
                                answering.consult(due)).forEach(c -> late.put(c.id(), c));
                    }
                }
            }
        }
        assertTrue(parkedAtOnce > 0, "some rows should have waited for the prior");
        int resampled = 0;
        for (Generator.Completion expected : immediate) {
            Generator.Completion actual = late.get(expected.id());
            assertArrayEquals(expected.tokens(), actual.tokens(), "request " + expected.id());
            assertArrayEquals(expected.resampled(), actual.resampled(), "request " + expected.id());
            assertArrayEquals(expected.logProbs(), actual.logProbs(), 1e-4f, "request " + expected.id());
            assertArrayEquals(expected.policyLogProbs(), actual.policyLogProbs(), 1e-4f, "request " + expected.id());
            resampled += actual.resampledCount();
        }
        assertTrue(resampled > 0, "the comparison should include prior tokens");
    }
}
