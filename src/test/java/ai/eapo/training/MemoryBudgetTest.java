package ai.eapo.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.eapo.UserInputException;
import ai.eapo.model.InferencePrecision;
import ai.eapo.model.LoraConfig;
import ai.eapo.model.ModelConfig;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import java.util.List;

/** The analytic budget against bytes computed by hand, for a tied GQA Qwen2 and an untied Qwen3 with q/k norms. */
class MemoryBudgetTest {

    private static final long MIB = 1L << 20;

    /** The embedded tiny policy: Qwen2 (q/k/v biases), tied, 8 heads over 2 KV heads of 32, 4 layers. */
    static ModelConfig tinyQwen2() {
        return ModelConfig.qwen2(128, 256, 704, 4, 8, 2, true, List.of(0));
    }

    /** Qwen3 (q/k RMSNorm, no biases), untied, 4 heads of 32 over 2 KV heads, hidden 64 (≠ heads × head_dim), 3 layers. */
    static ModelConfig smallQwen3() {
        ObjectNode json = new ObjectMapper().createObjectNode();
        json.put("model_type", "qwen3").put("vocab_size", 100).put("hidden_size", 64).put("intermediate_size", 160)
                .put("num_hidden_layers", 3).put("num_attention_heads", 4).put("num_key_value_heads", 2)
                .put("head_dim", 32).put("tie_word_embeddings", false).put("rms_norm_eps", 1e-6)
                .put("rope_theta", 10000.0);
        return ModelConfig.fromJson(json, "test qwen3");
    }

    @Test
    void parameterCountsAreEveryTensorOfTheCheckpoint() {
        // Per layer: norms 2·256 + q 256·256 + q bias 256 + k, v 2·(64·256 + 64) + o 256·256 + MLP 3·256·704
        //          = 512 + 65,792 + 32,896 + 65,536 + 540,672 = 705,408; 4 layers + final norm 256 + tied embedding 128·256.
        assertEquals(4 * 705_408L + 256 + 32_768, tinyQwen2().parameterCount());
        // Per layer: norms 2·64 + q 128·64 + k, v 2·64·64 + q/k norms 2·32 + o 64·128 + MLP 3·64·160
        //          = 128 + 8,192 + 8,192 + 64 + 8,192 + 30,720 = 55,488; 3 layers + final norm 64 + embedding and lm_head 2·100·64.
        assertEquals(3 * 55_488L + 64 + 12_800, smallQwen3().parameterCount());
    }

    @Test
    void tiedGqaQwen2WithEverythingOnOneNode() {
        ModelConfig c = tinyQwen2();
        MemoryBudget budget = MemoryBudget.of(new MemoryBudget.Settings(c, c, true, false, 1, 64, 20, 80, 128,
                new MicroBatching(32, 4096, 64), true, false, 600 * MIB, null, false));
        long w = 2_854_656L * 4;                       // fp32 weights: 11,418,624
        // Sequence 20 + 80 = 100; at most 32 rows of it: 3,200 tokens (under the 4,096 budget).
        // Per layer and token: 6·256 + 4·256 + 4·64 + 8 heads·100 + 5·704 = 7,136 floats.
        // Per token: 4 layers · 7,136 + 2·256 + vocab 128 = 29,184 floats = 116,736 bytes; plus one layer (28,544 bytes).
        long activations = 3_200L * 116_736 + 3_200L * 28_544;
        long logits = 3L * 32 * 64 * 128 * 4;          // 3 copies of [32 rows, 64 positions, 128] fp32
        long kv = 64L * 128 * 4 * 2 * 2 * 32 * 4;      // 64 rows, capacity 128 (≥ 101), 4 layers, K and V, 2 heads of 32
        long priorKv = 128L * 128 * 4 * 2 * 2 * 32 * 4; // 128 sequences in flight
        long largest = 704L * 256;                     // an MLP matrix: larger than the 128 × 256 embedding here
        long backward = 2 * largest * 4;               // two gradients of the largest weight
        long optimizer = 5 * largest * 4;              // five copies of a slice: the whole weight fits one
        long expected = 600 * MIB + 4 * w + activations + logits + backward + optimizer + kv /* evaluation */
                + w + kv /* sampler */ + w + priorKv;
        assertEquals(expected, budget.total());
        assertEquals(1_237_854_208L, budget.total(), "the same sum, written out");
        assertTrue(budget.render().contains("sampler 0"), budget.render());
    }

    @Test
    void untiedQwen3WithReferenceAndTwoSamplers() {
        ModelConfig c = smallQwen3();
        MemoryBudget budget = MemoryBudget.of(new MemoryBudget.Settings(c, null, true, true, 2, 4, 10, 20, 6,
                new MicroBatching(8, 100, 16), false, false, 0, null, false));
        long w = 179_328L * 4;                         // 717,312
        // Sequence 30; the budget of 100 tokens (8 rows of 30 would be more). Per layer and token: 6·64 + 4·128 + 4·64 + q/k norms (2·128 + 2·64)
        // + 4 heads·30 + 5·160 = 2,456 floats; per token 3 · 2,456 + 2·64 + 100 = 7,596 floats = 30,384 bytes.
        long activations = 100L * 30_384 + 100L * 2_456 * 4;
        long logits = 3L * 100 * 100 * 4;               // 8 rows × 16 positions > the 100 tokens of a micro-batch
        long kv = 4L * 64 * 3 * 2 * 2 * 32 * 4;        // 4 rows, capacity 64 (≥ 31), 3 layers, K and V, 2 heads of 32
        long largest = 160L * 64;                      // the MLP's matrices outgrow the 100 × 64 embedding here
        long backwardAndOptimizer = 2 * largest * 4 + 5 * largest * 4;
        assertEquals(5 * w + activations + logits + backwardAndOptimizer + 2 * (w + kv), budget.total());
        assertEquals(10_235_136L, budget.total(), "the same sum, written out");
        assertEquals(budget.total(), budget.deviceTotal(), "no host-only items without overhead or remote samplers");
    }

    @Test
    void withLoraTheBaseIsHeldOnceAndEveryCopyIsAdapterSized() {
        ModelConfig c = tinyQwen2();
        LoraConfig lora = new LoraConfig(16, 32, 0, List.of("q_proj", "v_proj"));
        MemoryBudget full = MemoryBudget.of(new MemoryBudget.Settings(c, c, true, true, 2, 64, 20, 80, 128,
                new MicroBatching(32, 4096, 64), false, false, 0, null, false));
        MemoryBudget adapted = MemoryBudget.of(new MemoryBudget.Settings(c, c, true, true, 2, 64, 20, 80, 128,
                new MicroBatching(32, 4096, 64), false, false, 0, lora, true));
        long w = 2_854_656L * 4;
        // Per layer: q A 16×256 + B 256×16, v A 16×256 + B 64×16 = 4,096 + 4,096 + 4,096 + 1,024; 4 layers.
        long a = 4L * (4_096 + 4_096 + 4_096 + 1_024) * 4;
        assertEquals(a, MemoryBudget.adapterBytes(c, lora));
        long kv = 64L * 128 * 4 * 2 * 2 * 32 * 4;
        long priorKv = 256L * 128 * 4 * 2 * 2 * 32 * 4;  // 128 in flight for each of 2 samplers
        // Eight weight-sized copies (the learner's weights, gradients, 2 moments, the reference, 2 replicas, the
        // prior) become the base once and seven adapter-sized ones (the prior is the base).
        long savedWeights = 8 * w - (w + 7 * a);
        long largest = 704L * 256;
        long largestAdapter = 256L * 16;
        long savedTransients = 7 * (largest - largestAdapter) * 4; // backward (2) and optimizer slice (5)
        assertEquals(full.total() - savedWeights - savedTransients, adapted.total());
        assertTrue(adapted.render().contains("frozen base weights (learner, replicas, prior)"), adapted.render());
        assertEquals(2 * kv + priorKv, adapted.items().stream().filter(i -> i.what().contains("KV cache"))
                .mapToLong(MemoryBudget.Item::bytes).sum());
    }

    @Test
    void fp16HalvesWhatNothingTrainsAndALoraLearnerComputesInIt() {
        ModelConfig c = tinyQwen2();
        LoraConfig lora = new LoraConfig(16, 32, 0, List.of("q_proj", "v_proj"));
        MicroBatching micro = new MicroBatching(32, 4096, 64);
        long w = 2_854_656L * 4;
        long kv = 64L * 128 * 4 * 2 * 2 * 32 * 4;
        long priorKv = 256L * 128 * 4 * 2 * 2 * 32 * 4;
        // Full-parameter: the learner's weights, gradients and moments stay fp32; the reference, both replicas, the
        // prior and the samplers' and prior's KV caches are halved.
        MemoryBudget full32 = MemoryBudget.of(new MemoryBudget.Settings(c, c, true, true, 2, 64, 20, 80, 128, micro,
                false, false, 0, null, false, InferencePrecision.FLOAT32));
        MemoryBudget full16 = MemoryBudget.of(new MemoryBudget.Settings(c, c, true, true, 2, 64, 20, 80, 128, micro,
                false, false, 0, null, false, InferencePrecision.FLOAT16));
        assertEquals(4 * w / 2 + (2 * kv + priorKv) / 2, full32.total() - full16.total());
        // LoRA on an fp16 base: the base is held once in fp16, and the learner's activations are fp16 but for the
        // fp32 softmax beside its fp16 copy and the RMSNorms' fp32 inputs. Per layer and token (sequence 100):
        // (6·256 + 4·256 + 4·64 + 5·704) · 2 + 8 heads · 100 · (4 + 2) + 2·256 · 4 = 12,672 + 4,800 + 2,048 = 19,520;
        // per token 4 · 19,520 + 2·256 · 2 + vocab 128 · 4 (fp32 log-softmax) = 79,616; plus one layer.
        MemoryBudget lora16 = MemoryBudget.of(new MemoryBudget.Settings(c, c, true, true, 2, 64, 20, 80, 128, micro,
                false, false, 0, lora, true, InferencePrecision.FLOAT16));
        assertEquals(w / 2, bytesOf(lora16, "frozen base weights"));
        assertEquals(3_200L * (79_616 + 19_520), bytesOf(lora16, "activations of a micro-batch"));
        assertEquals(32L * 64 * 128 * (3 * 4 + 2), bytesOf(lora16, "logits chunks"));
        assertEquals((2 * kv + priorKv) / 2, lora16.items().stream().filter(i -> i.what().contains("KV cache"))
                .mapToLong(MemoryBudget.Item::bytes).sum());
        assertEquals(MemoryBudget.adapterBytes(c, lora), bytesOf(lora16, "frozen KL reference"), "adapters stay fp32");
    }

    @Test
    void recomputingLayersKeepsEachLayersInputAndOneLayersActivations() {
        ModelConfig c = tinyQwen2();
        MicroBatching micro = new MicroBatching(32, 4096, 64).recomputingLayers();
        MemoryBudget budget = MemoryBudget.of(new MemoryBudget.Settings(c, c, true, false, 1, 64, 20, 80, 128, micro,
                false, false, 0, null, false));
        // 3,200 tokens, each: the 4 layers' inputs and the last output (5 · 256 floats), the final norm's output and
        // its input (2 · 256), the log-softmax (128), and one layer's 7,136 floats twice (recomputed and
        // their gradients): 1,280 + 512 + 128 + 14,272 = 16,192 floats = 64,768 bytes (145,280 without recomputing).
        assertEquals(3_200L * 64_768, bytesOf(budget, "activations of a micro-batch (3,200 tokens, layers recomputed)"));
    }

    private static long bytesOf(MemoryBudget budget, String what) {
        return budget.items().stream().filter(i -> i.what().startsWith(what)).mapToLong(MemoryBudget.Item::bytes)
                .sum();
    }

    @Test
    void aBudgetOverTheLimitIsRefusedWithItsBreakdown() {
        ModelConfig c = tinyQwen2();
        MemoryBudget budget = MemoryBudget.of(new MemoryBudget.Settings(c, c, true, false, 1, 64, 20, 80, 128,
                new MicroBatching(32, 4096, 64), true, false, 600 * MIB, null, false));
        UserInputException e = assertThrows(UserInputException.class,
                () -> new MemoryLimit(budget.total() - 1, "a test limit").requireFits(budget));
        assertTrue(e.getMessage().contains("a test limit") && e.getMessage().contains("AdamW moments")
                && e.getMessage().contains("eapo.memory.learner-micro-batch-tokens"), e.getMessage());
        new MemoryLimit(budget.total(), "a test limit").requireFits(budget);
    }

    @Test
    void aLearnerWhoseServedWeightsExceedTheJavaHeapIsRefusedNamingXmx() {
        // 2.8B parameters: 11 GB of fp32 bytes for samplers on other nodes, far above any test JVM's -Xmx.
        ModelConfig big = ModelConfig.qwen2(1000, 4096, 11008, 16, 32, 8, true, List.of(0));
        MemoryBudget budget = MemoryBudget.of(new MemoryBudget.Settings(big, null, true, false, 0, 8, 10, 10, 8,
                new MicroBatching(1, 100, 8), false, true, 0, null, false));
        assertTrue(budget.heapTotal() > Runtime.getRuntime().maxMemory());
        UserInputException e = assertThrows(UserInputException.class,
                () -> new MemoryLimit(Long.MAX_VALUE, "no limit").requireFits(budget));
        assertTrue(e.getMessage().contains("-Xmx"), e.getMessage());
    }
}
