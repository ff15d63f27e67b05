package ai.eapo.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** A tiny run of {@code bench learner} on the embedded model's shape: the report's FLOPs follow its formula. */
class BenchLearnerCommandTest {

    @TempDir
    Path dir;

    @Test
    void tinyRunCountsTheUsefulFlopsAndReportsThemAgainstTheMatmul() throws Exception {
        Path out = dir.resolve("bench-learner.json");
        StringWriter console = new StringWriter();
        CommandLine cli = new CommandLine(new BenchLearnerCommand());
        cli.setOut(new PrintWriter(console));
        int code = cli.execute("--shape", "models/tiny-base", "--sequences", "3", "--prompt-length", "4",
                "--response-length", "6", "--steps", "1", "--matmul-size", "64", "--out", out.toString());
        assertEquals(0, code, console.toString());
        JsonNode r = new ObjectMapper().readTree(out.toFile());
        long weights = r.path("matmulWeights").asLong();
        assertTrue(weights > 0);
        assertEquals(9, r.path("positions").asInt(), "prompt + response − 1 positions predict a next token");
        assertEquals(3, r.path("sequences").asInt());
        ai.eapo.model.ModelConfig c = ai.eapo.model.ModelConfig.read(Path.of("models/tiny-base"));
        double expected = 6.0 * weights * 3 * 9 + 12.0 * c.numLayers() * c.numHeads() * c.headDim() * 81 * 3;
        assertEquals(expected, r.path("flopsPerStep").asDouble(), 1e-6 * expected);
        assertEquals(expected / r.path("bestStepSeconds").asDouble() / 1e9, r.path("achievedGflops").asDouble(),
                1e-6 * r.path("achievedGflops").asDouble());
        assertEquals(r.path("achievedGflops").asDouble() / r.path("matmulGflops").asDouble(),
                r.path("fractionOfMatmulGflops").asDouble(), 1e-9);
        assertEquals(BenchLearnerCommand.GOAL_FRACTION_OF_MATMUL, r.path("goalFractionOfMatmul").asDouble());
    }
}
