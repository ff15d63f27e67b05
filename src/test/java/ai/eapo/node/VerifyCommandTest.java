package ai.eapo.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class VerifyCommandTest {

    @TempDir
    Path dir;

    @Test
    void gradesGoodLinesAndReportsBadOnesByNumber() throws Exception {
        Path in = dir.resolve("in.jsonl");
        Path out = dir.resolve("out.jsonl");
        Files.write(in, List.of(
                "{\"id\":1,\"gold\":\"\\\\frac{1}{2}\",\"pred\":\"0.5\"}",
                "{\"id\":2,\"gold\":\"18\",\"response\":\"She makes 9*2 = 18.\\n#### 18\"}",
                "this is not json",
                "{\"id\":4,\"pred\":\"3\"}",
                "{\"id\":5,\"gold\":\"(1,2)\",\"response\":\"So $\\\\boxed{(2,1)}$.\"}",
                "[1,2]"));
        StringWriter err = new StringWriter();
        CommandLine cli = new CommandLine(new VerifyCommand());
        cli.setErr(new PrintWriter(err));
        int code = cli.execute("--in", in.toString(), "--out", out.toString(), "--timeout-ms", "500");

        assertEquals(VerifyCommand.EXIT_BAD_LINES, code);
        assertTrue(err.toString().contains("line 3:"), err.toString());
        assertTrue(err.toString().contains("line 4:"), err.toString());
        assertTrue(err.toString().contains("line 6:"), err.toString());

        ObjectMapper json = new ObjectMapper();
        List<JsonNode> rows = Files.readAllLines(out).stream().map(l -> {
            try {
                return json.readTree(l);
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        }).toList();
        assertEquals(3, rows.size());
        assertEquals(1, rows.get(0).get("id").asInt());
        assertEquals(1.0, rows.get(0).get("reward").asDouble());
        assertEquals("0.5", rows.get(0).get("extracted").asText());
        assertEquals(1.0, rows.get(1).get("reward").asDouble());
        assertEquals("GSM8K_HASHES", rows.get(1).get("rule").asText());
        assertEquals(0.0, rows.get(2).get("reward").asDouble());
        assertEquals("(2,1)", rows.get(2).get("extracted").asText());
        assertTrue(rows.get(2).get("reason").asText().length() > 0);
    }

    @Test
    void allGoodLinesExitZero() throws Exception {
        Path in = dir.resolve("in.jsonl");
        Path out = dir.resolve("out.jsonl");
        Files.write(in, List.of("{\"gold\":\"4\",\"pred\":\"\\\\sqrt{16}\"}"));
        CommandLine cli = new CommandLine(new VerifyCommand());
        cli.setErr(new PrintWriter(new StringWriter()));
        assertEquals(0, cli.execute("--in", in.toString(), "--out", out.toString()));
        assertEquals(1, Files.readAllLines(out).size());
    }
}
