package ai.eapo.data;

import ai.eapo.UserInputException;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * verl-layout parquet (src/test/resources/verl, written by pyarrow through scripts/make-verl-parquet.py from the
 * first rows of data/synthetic) reads as the same problems as the JSONL it was made from.
 */
class VerlParquetTest {

    static final Path VERL = Path.of("src/test/resources/verl");
    static final DataFormat DEFAULT = DataFormat.fromConfig(ConfigFactory.load());

    @Test
    void verlRowsAreTheJsonlProblemsWithTheirPromptsInTheChatFormat() {
        List<ProblemSet.Problem> parquet = ProblemSet.read(VERL.resolve("train.parquet"), DEFAULT);
        List<ProblemSet.Problem> jsonl = ProblemSet.read(Path.of("data/synthetic/train.jsonl"), DEFAULT);
        assertEquals(256, parquet.size());
        for (int i = 0; i < parquet.size(); i++) {
            ProblemSet.Problem p = parquet.get(i);
            ProblemSet.Problem j = jsonl.get(i);
            assertTrue(p.chat() && !j.chat());
            assertEquals("<|im_start|>user\n" + j.prompt() + "<|im_end|>\n<|im_start|>assistant\n", p.prompt());
            assertEquals(j.answer(), p.answer(), "row " + i);
            assertEquals(j.level(), p.level(), "row " + i);
            assertEquals("eapo/synthetic", p.subject());
        }
    }

    @Test
    void parquetRowsKeepTheirNestingAsJson() throws Exception {
        JsonNode row = ParquetRows.read(VERL.resolve("test.parquet")).get(3);
        JsonNode expected = new ObjectMapper().readTree("""
                {"data_source": "eapo/synthetic", "prompt": [{"role": "user", "content": "%s"}], "ability": "math",
                 "reward_model": {"style": "rule", "ground_truth": "%s"},
                 "extra_info": {"split": "test", "index": 3, "level": "%s"}}""".formatted(
                ProblemSet.read(Path.of("data/synthetic/test.jsonl"), DEFAULT).get(3).prompt(),
                ProblemSet.read(Path.of("data/synthetic/test.jsonl"), DEFAULT).get(3).answer(),
                ProblemSet.read(Path.of("data/synthetic/test.jsonl"), DEFAULT).get(3).level()));
        assertEquals(expected.toString(), row.toString()); // int64 reads as a long, the literal as an int
    }

    @Test
    void aRowWithoutGroundTruthIsNamedByItsNumber() {
        UserInputException e = assertThrows(UserInputException.class,
                () -> ProblemSet.read(VERL.resolve("malformed.parquet"), DEFAULT));
        assertTrue(e.getMessage().contains("malformed.parquet row 5 (counting from 0)"), e.getMessage());
    }

    @Test
    void theChatFormatAndFieldPathsAreConfiguration() {
        DataFormat format = DataFormat.fromConfig(ConfigFactory.parseString("""
                eapo.data.chat-format { message = "[{role}] {content}\\n", generation-prompt = "[assistant] ",
                                        default-system = "Be brief." }
                eapo.data.fields.level = [extra_info.index]""").withFallback(ConfigFactory.load()));
        ProblemSet.Problem p = ProblemSet.read(VERL.resolve("test.parquet"), format).get(2);
        assertTrue(p.prompt().startsWith("[system] Be brief.\n[user] Compute "), p.prompt());
        assertTrue(p.prompt().endsWith(".\n[assistant] "), p.prompt());
        assertEquals("2", p.level());
        assertThrows(UserInputException.class, () -> new ChatFormat("{content}", "", ""));
    }

    @Test
    void aDamagedFileIsRefusedWithItsName(@TempDir Path dir) throws Exception {
        byte[] bytes = Files.readAllBytes(VERL.resolve("test.parquet"));
        Path broken = dir.resolve("broken.parquet");
        Files.write(broken, java.util.Arrays.copyOf(bytes, bytes.length / 2));
        UserInputException e = assertThrows(UserInputException.class, () -> ProblemSet.read(broken, DEFAULT));
        assertTrue(e.getMessage().contains("broken.parquet"), e.getMessage());
        assertFalse(ProblemSet.read(Path.of("data/synthetic/test.jsonl"), DEFAULT).get(0).chat());
    }
}
