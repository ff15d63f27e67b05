package ai.eapo.node;

import ai.djl.Device;
import ai.eapo.model.Checkpoint;
import ai.eapo.model.ModelConfig;
import ai.eapo.model.PolicyModel;
import ai.eapo.model.TestPaths;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** {@code eval}: pass@k and mean@n on the committed tiny models and on a Qwen-layout checkpoint with Qwen's tokenizer. */
class EvalCommandTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    static JsonNode eval(Path out, String... args) throws IOException {
        String[] full = new String[args.length + 3];
        full[0] = "eval";
        System.arraycopy(args, 0, full, 1, args.length);
        full[args.length + 1] = "--out";
        full[args.length + 2] = out.toString();
        EapoNodeTest.Run r = EapoNodeTest.run(full);
        assertEquals(0, r.exit(), r.err());
        assertTrue(Files.isRegularFile(out.resolve("eval.md")), "eval.md");
        return JSON.readTree(out.resolve("eval.json").toFile());
    }

    @Test
    void tinyPriorSampledFourTimesAndGreedyAgainstTinyBase(@TempDir Path dir) throws IOException {
        JsonNode r = eval(dir.resolve("sampled"), "--model", "models/tiny-prior", "--data", "data/synthetic/test.jsonl",
                "--limit", "40", "--n", "4", "--k", "1,4");
        JsonNode overall = r.get("overall");
        assertEquals(40, r.get("problems").asInt());
        assertEquals(40, overall.get("problems").asInt());
        assertEquals(160, overall.get("samples").asInt());
        double pass1 = overall.get("pass_at_k").get("1").asDouble();
        double pass4 = overall.get("pass_at_k").get("4").asDouble();
        assertEquals(overall.get("mean_at_n").asDouble(), pass1, 1e-9);
        assertTrue(pass4 >= pass1, pass4 + " < " + pass1);
        assertTrue(pass1 > 0, "tiny-prior solves some problems");

        // Per-problem counts agree with the totals; the per-level groups partition the problems.
        JsonNode perProblem = r.get("per_problem");
        assertEquals(40, perProblem.size());
        int correct = 0;
        for (JsonNode p : perProblem) {
            assertEquals(4, p.get("n").asInt());
            correct += p.get("correct").asInt();
        }
        assertEquals(correct / 160.0, overall.get("mean_at_n").asDouble(), 1e-9);
        JsonNode levels = r.get("groups").get("level");
        assertFalse(r.get("groups").has("subject"), "the synthetic task has no subjects");
        int problems = 0;
        double weightedMean = 0;
        for (Iterator<Map.Entry<String, JsonNode>> it = levels.fields(); it.hasNext(); ) {
            JsonNode g = it.next().getValue();
            problems += g.get("problems").asInt();
            weightedMean += g.get("problems").asInt() * g.get("mean_at_n").asDouble();
            assertTrue(g.get("pass_at_k").get("4").asDouble() >= g.get("pass_at_k").get("1").asDouble());
        }
        assertEquals(40, problems);
        assertEquals(overall.get("mean_at_n").asDouble(), weightedMean / 40, 1e-9);
        String md = Files.readString(dir.resolve("sampled/eval.md"));
        assertTrue(md.contains("| all | 40 |") && md.contains("pass@4") && md.contains("mean@4") && md.contains("| level 1 |"), md);

        // Greedy, one sample: the RL prior is better than the SFT base on the same problems.
        double prior = eval(dir.resolve("prior"), "--model", "models/tiny-prior", "--data", "data/synthetic/test.jsonl",
                "--limit", "40", "--temperature", "0").get("overall").get("pass_at_k").get("1").asDouble();
        JsonNode baseRun = eval(dir.resolve("base"), "--model", "models/tiny-base", "--data", "data/synthetic/test.jsonl",
                "--limit", "40", "--temperature", "0");
        double base = baseRun.get("overall").get("pass_at_k").get("1").asDouble();
        assertTrue(baseRun.get("settings").get("greedy").asBoolean());
        assertTrue(prior > base, "tiny-prior " + prior + " vs tiny-base " + base);

        // Greedy with n > 1: every sample is the greedy one, so pass@k is pass@1 for every k.
        JsonNode greedyTwice = eval(dir.resolve("prior2"), "--model", "models/tiny-prior", "--data",
                "data/synthetic/test.jsonl", "--limit", "40", "--temperature", "0", "--n", "2", "--k", "1,2").get("overall");
        assertEquals(prior, greedyTwice.get("pass_at_k").get("1").asDouble(), 1e-9);
        assertEquals(prior, greedyTwice.get("pass_at_k").get("2").asDouble(), 1e-9);
        assertEquals(80, greedyTwice.get("samples").asInt());
    }

    @Test
    void qwenLayoutCheckpointWithTheRealQwenTokenizer(@TempDir Path dir) throws IOException {
        Path tokenizer = qwenTokenizerDir();
        if (!Files.isRegularFile(tokenizer.resolve("tokenizer.json"))) {
            fail("Qwen tokenizer not found in " + tokenizer + ": run scripts/fetch-qwen-tokenizer.sh first"
                    + " (or point -Deapo.qwenTokenizer=DIR at a directory holding Qwen's tokenizer.json)");
        }
        // A small random Qwen3 (q/k norm) with Qwen2.5/Qwen3's vocabulary size, which covers every tokenizer id.
        ObjectNode json = JSON.createObjectNode();
        json.putArray("architectures").add("Qwen3ForCausalLM");
        json.put("model_type", "qwen3");
        json.put("vocab_size", 151936);
        json.put("hidden_size", 32);
        json.put("intermediate_size", 64);
        json.put("num_hidden_layers", 2);
        json.put("num_attention_heads", 4);
        json.put("num_key_value_heads", 2);
        json.put("head_dim", 8);
        json.put("rope_theta", 1000000.0);
        json.put("rms_norm_eps", 1e-6);
        json.put("max_position_embeddings", 4096);
        json.put("tie_word_embeddings", true);
        json.put("torch_dtype", "bfloat16");
        json.putArray("eos_token_id").add(151645).add(151643);
        Path model = dir.resolve("qwen3-random");
        try (PolicyModel m = PolicyModel.random(ModelConfig.fromJson(json, "test config"), Device.cpu(), 7, 0.02f)) {
            Checkpoint.save(m, model, tokenizer, Long.MAX_VALUE);
        }
        Path data = TestPaths.shared().resolve("data/math500-test.jsonl");
        JsonNode r = eval(dir.resolve("out"), "--model", model.toString(), "--data", data.toString(), "--limit", "3",
                "--n", "2", "--k", "1,2", "--max-new-tokens", "6", "--prompt-template", "qwen-chat", "--seed", "3");
        JsonNode overall = r.get("overall");
        assertEquals(3, overall.get("problems").asInt());
        assertEquals(6, overall.get("samples").asInt());
        double meanTokens = overall.get("mean_response_tokens").asDouble();
        assertTrue(meanTokens >= 1 && meanTokens <= 6, "mean response tokens " + meanTokens);
        assertTrue(r.get("settings").get("prompt_template").asText().startsWith("<|im_start|>system"));
        for (String group : List.of("subject", "level")) {
            JsonNode g = r.get("groups").get(group);
            assertTrue(g != null && g.size() >= 1, group + " groups: " + r.get("groups"));
            int problems = 0;
            for (JsonNode v : g) {
                problems += v.get("problems").asInt();
            }
            assertEquals(3, problems, group);
        }
        // The first three MATH-500 problems: Precalculus level 2, Intermediate Algebra level 5, Algebra level 3.
        assertTrue(r.get("groups").get("subject").has("Precalculus"), r.get("groups").toString());
        assertTrue(r.get("groups").get("level").has("2"), r.get("groups").toString());
        String md = Files.readString(dir.resolve("out/eval.md"));
        assertTrue(md.contains("| subject Precalculus | 1 |") && md.contains("| level 5 | 1 |"), md);
    }

    @Test
    void badInputIsOneLineNamingTheValue(@TempDir Path dir) {
        EapoNodeTest.Run kTooBig = EapoNodeTest.run("eval", "--model", "models/tiny-base", "--n", "4", "--k", "1,8",
                "--out", dir.toString());
        assertEquals(EapoNode.EXIT_BAD_INPUT, kTooBig.exit());
        assertEquals(1, kTooBig.err().strip().lines().count(), kTooBig.err());
        assertTrue(kTooBig.err().contains("--k 8") && kTooBig.err().contains("--n 4"), kTooBig.err());

        EapoNodeTest.Run missing = EapoNodeTest.run("eval", "--model", "models/tiny-base",
                "--data", dir.resolve("nope.jsonl").toString(), "--out", dir.toString());
        assertEquals(EapoNode.EXIT_BAD_INPUT, missing.exit());
        assertTrue(missing.err().contains("nope.jsonl") && missing.err().contains("--data"), missing.err());

        EapoNodeTest.Run noSamples = EapoNodeTest.run("eval", "--model", "models/tiny-base", "--n", "0");
        assertEquals(EapoNode.EXIT_BAD_INPUT, noSamples.exit());
        assertTrue(noSamples.err().contains("--n") && noSamples.err().contains("0"), noSamples.err());

        EapoNodeTest.Run noModel = EapoNodeTest.run("eval", "--model", dir.resolve("no-model").toString());
        assertEquals(EapoNode.EXIT_BAD_INPUT, noModel.exit());
        assertTrue(noModel.err().contains("no-model"), noModel.err());
        assertFalse(Files.exists(dir.resolve("eval.json")));
    }

    /** Where scripts/fetch-qwen-tokenizer.sh puts Qwen's tokenizer (as QwenTokenizerTest finds it). */
    static Path qwenTokenizerDir() {
        String explicit = System.getProperty("eapo.qwenTokenizer");
        if (explicit != null && !explicit.isBlank()) {
            return Path.of(explicit).toAbsolutePath().normalize();
        }
        Path root = Path.of(System.getProperty("basedir", System.getProperty("user.dir")));
        return root.resolve("build").resolve("qwen-tokenizer").toAbsolutePath().normalize();
    }
}
