package ai.eapo.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TinyTokenizerFilesTest {

    private static final int MAX_VOCABULARY = 128;
    private static final long UNKNOWN_ID = TinyTokenizerFiles.SPECIAL_TOKENS.indexOf(TinyTokenizerFiles.UNKNOWN);

    @TempDir
    static Path directory;

    @BeforeAll
    static void writeFiles() throws Exception {
        TinyTokenizerFiles.write(directory);
    }

    @Test
    void vocabularyIsSmallAndDistinct() {
        List<String> vocabulary = TinyTokenizerFiles.vocabulary();
        assertTrue(vocabulary.size() <= MAX_VOCABULARY, "vocabulary has " + vocabulary.size() + " tokens");
        assertEquals(vocabulary.size(), Set.copyOf(vocabulary).size());
    }

    @Test
    void everyCharacterOfGeneratedProblemsRoundTripsOneTokenPerCharacter() throws Exception {
        List<SyntheticMathTask.Problem> problems = SyntheticMathTask.generate(7, 400, Set.of(), true);
        try (HuggingFaceTokenizer tokenizer = HuggingFaceTokenizer.newInstance(directory)) {
            for (SyntheticMathTask.Problem problem : problems) {
                for (String text : List.of(problem.prompt(), problem.solution(), problem.prompt() + "\n" + problem.solution())) {
                    long[] ids = tokenizer.encode(text).getIds();
                    assertEquals(text.length(), ids.length, text);
                    for (long id : ids) {
                        assertTrue(id != UNKNOWN_ID, "unknown token in " + text);
                    }
                    assertEquals(text, tokenizer.decode(ids), text);
                }
            }
        }
    }

    @Test
    void everyVocabularyCharacterRoundTrips() throws Exception {
        StringBuilder all = new StringBuilder();
        TinyTokenizerFiles.vocabulary().stream()
                .filter(token -> !TinyTokenizerFiles.SPECIAL_TOKENS.contains(token))
                .forEach(all::append);
        String text = all.toString();
        try (HuggingFaceTokenizer tokenizer = HuggingFaceTokenizer.newInstance(directory)) {
            long[] ids = tokenizer.encode(text).getIds();
            long[] expected = new long[text.length()];
            for (int i = 0; i < expected.length; i++) {
                expected[i] = TinyTokenizerFiles.SPECIAL_TOKENS.size() + i;
            }
            assertArrayEquals(expected, ids);
            assertEquals(text, tokenizer.decode(ids));
        }
    }

    @Test
    void chatMarkersAreSingleSpecialTokens() throws Exception {
        String text = "<|im_start|>user\nCompute 1+2.<|im_end|>\n<|im_start|>assistant\n1+2=3.<|endoftext|>";
        try (HuggingFaceTokenizer tokenizer = HuggingFaceTokenizer.newInstance(directory)) {
            long[] ids = tokenizer.encode(text).getIds();
            assertEquals(1, ids[0]);
            assertEquals(0, ids[ids.length - 1]);
            assertEquals(text, tokenizer.decode(ids, false));
            assertEquals("user\nCompute 1+2.\nassistant\n1+2=3.", tokenizer.decode(ids, true));
        }
    }
}
