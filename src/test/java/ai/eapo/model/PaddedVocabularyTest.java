package ai.eapo.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.eapo.UserInputException;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

/**
 * A prior whose embeddings are padded past its tokenizer (a 7B prior of 152,064 rows for a 1.5B policy of
 * 151,936, one tokenizer of 151,665 ids) serves the policy: its padding rows are never sampled, and entropies
 * and log-probs are over the tokenizer's ids only. Here the padding rows carry the largest logits, so any of
 * them left in would dominate every draw.
 */
class PaddedVocabularyTest {

    private static final int TOKENS = 40;
    private static final int PADDED_ROWS = 64;
    private static final SamplingParams PARAMS = new SamplingParams(0.8, 1.0, 0);

    private static final long[] IDS = {3, 9, 4, 1, 7};

    /**
     * A tied-embedding model of {@code PADDED_ROWS} rows whose rows past {@code TOKENS} point along the final hidden
     * state of {@link #IDS}: at that position their logits are far above every token's.
     */
    private static PolicyModel paddedPrior() {
        PolicyModel model = PolicyModel.random(ModelConfig.qwen2(PADDED_ROWS, 32, 64, 2, 4, 2, true, List.of()),
                Device.cpu(), 5, 0.3f);
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray last = model.hiddenStates(m.create(IDS, new Shape(1, IDS.length))).get("0, -1").stopGradient();
            NDArray row = last.div(last.norm()).mul(10f);
            model.updateWeights(() -> {
                NDArray embeddings = model.parameters().get("model.embed_tokens.weight").stopGradient();
                embeddings.set(new NDIndex(TOKENS + ":"), row.broadcast(new Shape(PADDED_ROWS - TOKENS, 32)));
            });
        }
        return model;
    }

    @Test
    void paddingRowsAreNeverSampledAndLeaveEntropiesAndLogProbsAlone() {
        try (PolicyModel prior = paddedPrior(); NDManager m = NDManager.newBaseManager()) {
            long[] ids = IDS;
            long[] input = {3, 9, 4, 1};
            long[] targets = {9, 4, 1, 7};
            float[] allRowsLogProbs = prior.logits(m.create(input, new Shape(1, 4))).get("0, -1")
                    .div(PARAMS.temperature()).logSoftmax(0).toFloatArray();
            NDArray full = prior.logits(m.create(ids, new Shape(1, ids.length))).get("0, -1");
            assertEquals(PADDED_ROWS, full.getShape().get(0));
            assertTrue(full.argMax().getLong() >= TOKENS, "a padding row dominates the unlimited logits");

            prior.limitVocabulary(TOKENS);
            NDArray limited = prior.logits(m.create(ids, new Shape(1, ids.length))).get("0, -1");
            assertEquals(TOKENS, limited.getShape().get(0));
            assertArrayEquals(full.get(":" + TOKENS).toFloatArray(), limited.toFloatArray(), 1e-5f);
            float[] tokenLogits = limited.toFloatArray();

            try (LocalPrior local = new LocalPrior(prior, PARAMS)) {
                List<ExperiencePrior.Consultation> asks = new ArrayList<>();
                for (int i = 0; i < 200; i++) {
                    asks.add(new ExperiencePrior.Consultation(i, ids, (i + 0.5) / 200));
                }
                for (ExperiencePrior.Draw d : local.consult(asks)) {
                    assertTrue(d.token() < TOKENS, "sampled padding row " + d.token());
                }
            }
            try (ContinuousDecoder decoder = new ContinuousDecoder(prior.inferenceView(), PARAMS, java.util.Set.of(), 1,
                    ContinuousDecoder.CriticalPositions.NONE)) {
                decoder.submit(new Generator.Request(0, ids, 1, 3));
                Generator.Completion c = decoder.step().finished().get(0);
                assertEquals(SoftmaxEntropy.of(tokenLogits, PARAMS.temperature()), c.entropies()[0], 1e-4,
                        "the entropy is over the tokenizer's ids");
            }
            float[] logProbs = prior.tokenLogProbs(m.create(input, new Shape(1, 4)), m.create(targets, new Shape(1, 4)),
                    (float) PARAMS.temperature()).toFloatArray();
            float[] tokenLogProbs = prior.logits(m.create(input, new Shape(1, 4))).get("0, -1")
                    .div(PARAMS.temperature()).logSoftmax(0).toFloatArray();
            assertEquals(TOKENS, tokenLogProbs.length);
            assertEquals(tokenLogProbs[7], logProbs[3], 1e-4, "the learner's log-prob normalises over the tokenizer's ids");
            assertTrue(Math.abs(allRowsLogProbs[7] - logProbs[3]) > 1e-3, "over all rows it would differ");
        }
    }

    @Test
    void aTokenizerWithMoreIdsThanEmbeddingRowsIsRefused() {
        try (PolicyModel prior = paddedPrior()) {
            UserInputException e = assertThrows(UserInputException.class, () -> prior.limitVocabulary(PADDED_ROWS + 1));
            assertTrue(e.getMessage().contains(String.valueOf(PADDED_ROWS + 1)) && e.getMessage().contains("64"),
                    e.getMessage());
        }
    }
}
