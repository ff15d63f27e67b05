package ai.eapo.node;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** verl-layout parquet trains the tiny task exactly as the same problems in JSONL do. */
class VerlDataTrainingTest {

    @Test
    void parquetAndJsonlOfTheSameProblemsTrainAlike(@TempDir Path dir) throws Exception {
        Path jsonl = dir.resolve("train.jsonl");
        Files.write(jsonl, Files.readAllLines(Path.of("data/synthetic/train.jsonl")).subList(0, 256));
        Path test = dir.resolve("test.jsonl");
        Files.write(test, Files.readAllLines(Path.of("data/synthetic/test.jsonl")).subList(0, 64));
        // The JSONL problems in the chat format the parquet's chat messages are rendered in.
        Path chatTemplate = dir.resolve("chat.conf");
        Files.writeString(chatTemplate,
                "eapo.data.prompt-template = \"<|im_start|>user\\n{prompt}<|im_end|>\\n<|im_start|>assistant\\n\"\n");

        List<JsonNode> fromParquet = train(dir, "parquet", "src/test/resources/verl/train.parquet",
                "src/test/resources/verl/test.parquet");
        List<JsonNode> fromJsonl = train(dir, "jsonl", jsonl.toString(), test.toString(), "--config",
                chatTemplate.toString());
        for (int step = 0; step < 2; step++) {
            for (String key : List.of("reward_mean", "accuracy", "tokens", "loss", "grad_norm")) {
                assertEquals(fromJsonl.get(step).get(key), fromParquet.get(step).get(key), "step " + step + " " + key);
            }
        }
        assertTrue(fromParquet.get(1).get("tokens").asLong() > 0);
    }

    private static List<JsonNode> train(Path dir, String runId, String data, String test, String... more)
            throws Exception {
        List<String> args = new java.util.ArrayList<>(List.of("train", "--grpo", "--steps", "2",
                "--questions-per-step", "4", "--seed", "3", "--max-staleness", "0", "--eval-size", "0", "--port", "0",
                "--data", data, "--test", test, "--results-dir", dir.toString(), "--run-id", runId));
        args.addAll(List.of(more));
        EapoNodeTest.Run run = EapoNodeTest.run(args.toArray(String[]::new));
        assertEquals(0, run.exit(), run.err());
        ObjectMapper json = new ObjectMapper();
        List<JsonNode> lines = new java.util.ArrayList<>();
        for (String line : Files.readAllLines(dir.resolve(runId).resolve("metrics.jsonl"))) {
            lines.add(json.readTree(line));
        }
        assertEquals(2, lines.size());
        return lines;
    }
}
