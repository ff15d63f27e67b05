package ai.eapo.training;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.eapo.model.ContinuousDecoder;
import ai.eapo.model.Generator.Completion;
import ai.eapo.model.Generator.Request;
import ai.eapo.model.ModelConfig;
import ai.eapo.model.PolicyModel;
import ai.eapo.model.SamplingParams;
import ai.eapo.model.WeightSnapshot;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * A sampler loads a new weight version between decode steps while a sequence's KV cache still holds the old
 * version's keys and values. The tokens decoded after the swap were drawn from neither version: the learner
 * training the new version must weight them by the log-prob actually recorded, not force w = 1. Only a sequence
 * decoded by the learner's version from its first token on is on-policy.
 */
class MidSequenceWeightSwapTest {

    private static final ModelConfig CONFIG = ModelConfig.qwen2(40, 32, 64, 2, 4, 2, true, List.of());
    private static final SamplingParams PARAMS = new SamplingParams(0.8, 1.0, 0);
    private static final long[] PROMPT = {3, 9, 4, 1};
    private static final int NEW_TOKENS = 10;
    private static final int SWAP_AFTER = 4;

    @Test
    void tokensAfterASwapAreWeightedByWhatWasSampledAndOnlyAWholeVersionSequenceIsOnPolicy() {
        try (PolicyModel sampler = PolicyModel.random(CONFIG, Device.cpu(), 1, 0.3f);
             PolicyModel next = PolicyModel.random(CONFIG, Device.cpu(), 2, 0.3f)) {
            Completion swapped = decode(sampler, next, SWAP_AFTER);
            long[] versions = swapped.weightVersions();
            assertEquals(0, versions[0]);
            assertEquals(1, versions[NEW_TOKENS - 1], "the swap came mid-sequence");
            Trajectory mixed = trajectory(swapped);
            for (int i = 0; i < NEW_TOKENS; i++) {
                assertFalse(mixed.onPolicy(i, 1), "token " + i + " (version " + versions[i] + ") saw version 0's cache");
            }
            // The recorded log-probs after the swap are not version 1's: w = 1 would have been wrong.
            float[] recomputed = logProbsUnder(next, swapped);
            double largestGap = 0;
            for (int i = SWAP_AFTER; i < NEW_TOKENS; i++) {
                largestGap = Math.max(largestGap, Math.abs(recomputed[i] - swapped.logProbs()[i]));
            }
            assertTrue(largestGap > 1e-3, "after the swap the cache mixes versions; largest gap " + largestGap);

            Completion whole = decode(sampler, next, 0);
            assertTrue(Arrays.stream(whole.weightVersions()).allMatch(v -> v == 1));
            Trajectory current = trajectory(whole);
            for (int i = 0; i < NEW_TOKENS; i++) {
                assertTrue(current.onPolicy(i, 1), "token " + i);
                assertFalse(current.onPolicy(i, 2), "a later learner version sees a stale token");
            }
            assertArrayEquals(logProbsUnder(next, whole), whole.logProbs(), 1e-4f,
                    "decoded by version 1 alone: what the learner recomputes, so w = 1 exactly");
        }
    }

    /**
     * Decodes one request with {@code sampler}'s weights as version 0, loads {@code next}'s as version 1 after
     * {@code swapAfter} steps (0: before the request joins), and decodes to the end.
     */
    private static Completion decode(PolicyModel sampler, PolicyModel next, int swapAfter) {
        try (PolicyModel replica = PolicyModel.random(CONFIG, Device.cpu(), 1, 0.3f);
             ContinuousDecoder decoder = new ContinuousDecoder(replica, PARAMS, Set.of(), 1, ContinuousDecoder.CriticalPositions.NONE)) {
            load(sampler, replica, 0);
            decoder.setWeightVersion(0);
            if (swapAfter == 0) {
                load(next, replica, 1);
                decoder.setWeightVersion(1);
            }
            decoder.submit(new Request(7, PROMPT, NEW_TOKENS, 11));
            List<Completion> done = new ArrayList<>();
            for (int step = 1; done.isEmpty(); step++) {
                done.addAll(decoder.step().finished());
                if (step == swapAfter) {
                    load(next, replica, 1);
                    decoder.setWeightVersion(1);
                }
            }
            return done.get(0);
        }
    }

    private static void load(PolicyModel from, PolicyModel into, long version) {
        WeightSnapshot snapshot = WeightSnapshot.of(from, version);
        try {
            assertTrue(snapshot.loadInto(into));
        } finally {
            snapshot.release();
        }
    }

    private static Trajectory trajectory(Completion c) {
        return new Trajectory(PROMPT, c.tokens(), c.logProbs(), c.policyLogProbs(), c.resampled(), c.weightVersions(), false,
                1.0);
    }

    /** Log-probs of the completion's tokens under {@code model} run over the whole sequence, as the learner does. */
    private static float[] logProbsUnder(PolicyModel model, Completion c) {
        int length = PROMPT.length + c.tokens().length - 1;
        long[] ids = new long[length];
        long[] targets = new long[length];
        System.arraycopy(PROMPT, 0, ids, 0, PROMPT.length);
        System.arraycopy(c.tokens(), 0, ids, PROMPT.length, c.tokens().length - 1);
        System.arraycopy(c.tokens(), 0, targets, PROMPT.length - 1, c.tokens().length);
        try (NDManager m = NDManager.newBaseManager()) {
            float[] all = model.tokenLogProbs(m.create(ids, new Shape(1, length)), m.create(targets, new Shape(1, length)),
                    (float) PARAMS.temperature()).toFloatArray();
            return Arrays.copyOfRange(all, PROMPT.length - 1, length);
        }
    }
}
