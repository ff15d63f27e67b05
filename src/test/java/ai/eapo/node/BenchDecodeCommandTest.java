package ai.eapo.node;

import ai.eapo.UserInputException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A tiny run of {@code bench decode}: the report has every field (no timing assertions). */
class BenchDecodeCommandTest {

    @TempDir
    Path dir;

    @Test
    void tinyRunWritesTheReport() throws Exception {
        Path out = dir.resolve("sub").resolve("bench-decode.json");
        StringWriter console = new StringWriter();
        CommandLine cli = new CommandLine(new BenchDecodeCommand());
        cli.setOut(new PrintWriter(console));
        int code = cli.execute("--batch-sizes", "1,2", "--new-tokens", "6", "--prompt-length", "3",
                "--uncached-steps", "3", "--matmul-size", "64", "--vocab", "96", "--hidden", "32",
                "--intermediate", "48", "--layers", "2", "--heads", "4", "--kv-heads", "2", "--out", out.toString());
        assertEquals(0, code, console.toString());

        JsonNode report = new ObjectMapper().readTree(out.toFile());
        for (String field : List.of("machine", "model", "settings", "flopFormula", "matmul", "results")) {
            assertTrue(report.has(field), field);
        }
        for (String field : List.of("cores", "javaVersion", "device", "engine")) {
            assertFalse(report.path("machine").path(field).asText().isEmpty(), "machine." + field);
        }
        assertEquals(2, report.path("model").path("layers").asInt());
        assertTrue(report.path("model").path("parameterCount").asLong() > 0);
        assertTrue(report.path("matmul").path("gflops").asDouble() > 0);
        // The weight-streaming floor reads every matmul weight once: 2 layers of q/k/v/o + gate/up/down, and the lm_head.
        long expectedBytes = 4L * (2 * (32 * (32 + 2 * 16) + 32 * 32 + 3 * 32 * 48) + 96 * 32);
        assertEquals(expectedBytes, report.path("streamingFloor").path("bytes").asLong());
        assertTrue(report.path("streamingFloor").path("passSeconds").asDouble() > 0);
        assertTrue(report.path("streamingFloor").path("hotBandwidthBytesPerSecond").asDouble() > 0);

        JsonNode results = report.path("results");
        assertEquals(2, results.size());
        for (int i = 0; i < 2; i++) {
            JsonNode r = results.get(i);
            assertEquals(i + 1, r.path("batchSize").asInt());
            for (String field : List.of("prefillSeconds", "cachedDecodeSeconds", "cachedMsPerStep", "cachedTokensPerSecond",
                    "uncachedSeconds", "uncachedTokensPerSecond", "speedup", "decodeFlops", "achievedGflops",
                    "fractionOfMatmulGflops", "msPerStepOverStreamingFloor", "projectionsAloneSeconds",
                    "projectionsGflops")) {
                assertTrue(r.path(field).asDouble() > 0, field + " in " + r);
            }
            assertEquals(3, r.path("uncachedStepsTimed").asInt());
            assertEquals(5, r.path("uncachedStepsTotal").asInt());
            assertTrue(r.path("uncachedExtrapolated").asBoolean());
            // Uncached recomputation draws the same tokens as the cached decoder (same uniforms).
            assertEquals(1.0, r.path("uncachedTokenAgreement").asDouble(), 1e-9, r.toString());
        }
        assertTrue(console.toString().contains("cached tok/s"), console.toString());
    }

    @Test
    void badOptionsAreRejected() {
        CommandLine cli = new CommandLine(new BenchDecodeCommand());
        cli.setErr(new PrintWriter(new StringWriter()));
        cli.setExecutionExceptionHandler((e, line, parsed) -> e instanceof UserInputException ? 2 : 1);
        assertEquals(2, cli.execute("--new-tokens", "1", "--out", dir.resolve("x.json").toString()));
        assertEquals(2, cli.execute("--batch-sizes", "0", "--out", dir.resolve("x.json").toString()));
    }
}
