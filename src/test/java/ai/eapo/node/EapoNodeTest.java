package ai.eapo.node;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.eapo.model.SafeTensors;
import ai.eapo.model.TestPaths;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The CLI as a user meets it: results written where asked, bad input as one line and exit code 2. */
class EapoNodeTest {

    static final Path FIXTURE = TestPaths.shared().resolve("fixtures/tiny-qwen2-bf16");

    record Run(int exit, String err) {
    }

    static Run run(String... args) {
        CommandLine cli = EapoNode.commandLine();
        StringWriter err = new StringWriter();
        cli.setErr(new PrintWriter(err));
        return new Run(cli.execute(args), err.toString());
    }

    @Test
    void logitsCommandWritesTheGoldenLogits(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("logits.safetensors");
        Run r = run("logits", "--model", FIXTURE.toString(), "--ids", "195,84,241,105,133,218,136", "--out", out.toString());
        assertEquals(0, r.exit(), r.err());
        try (NDManager m = NDManager.newBaseManager();
             SafeTensors.File written = SafeTensors.open(out);
             SafeTensors.File golden = SafeTensors.open(FIXTURE.resolve("golden.safetensors"))) {
            NDArray actual = written.load("logits", m);
            NDArray expected = golden.load("logits_0", m);
            assertEquals(expected.getShape(), actual.getShape());
            assertTrue(actual.sub(expected).abs().max().getFloat() < 1e-3);
        }
    }

    @Test
    void initModelThenGenerateWithEntropies(@TempDir Path dir) {
        Path model = dir.resolve("tiny");
        Run init = run("init-model", "--tokenizer", "data/synthetic/tokenizer", "--out", model.toString(), "--seed", "3");
        assertEquals(0, init.exit(), init.err());
        java.io.PrintStream saved = System.out;
        java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
        System.setOut(new java.io.PrintStream(captured, true));
        try {
            Run gen = run("generate", "--model", model.toString(), "--prompt", "Compute 1+2.", "--max-new-tokens", "6",
                    "--temperature", "1.0", "--seed", "5", "--show-entropy");
            assertEquals(0, gen.exit(), gen.err());
        } finally {
            System.setOut(saved);
        }
        long tokenLines = captured.toString().lines().filter(l -> l.matches("\\d+\t\\d+\t.*")).count();
        assertTrue(tokenLines >= 1 && tokenLines <= 6, captured.toString());
    }

    @Test
    void badInputEndsWithOneLineNamingTheValue(@TempDir Path dir) {
        Run outOfVocab = run("logits", "--model", FIXTURE.toString(), "--ids", "1,256", "--out", dir.resolve("x").toString());
        assertEquals(EapoNode.EXIT_BAD_INPUT, outOfVocab.exit());
        assertEquals(1, outOfVocab.err().strip().lines().count(), outOfVocab.err());
        assertTrue(outOfVocab.err().contains("256") && outOfVocab.err().contains("position 1"), outOfVocab.err());

        Run missing = run("generate", "--model", dir.resolve("nope").toString(), "--prompt", "hi");
        assertEquals(EapoNode.EXIT_BAD_INPUT, missing.exit());
        assertTrue(missing.err().contains("nope") && missing.err().contains("does not exist"), missing.err());

        Run noTokenizer = run("generate", "--model", FIXTURE.toString(), "--prompt", "hi");
        assertEquals(EapoNode.EXIT_BAD_INPUT, noTokenizer.exit());
        assertTrue(noTokenizer.err().contains("tokenizer.json"), noTokenizer.err());
    }
}
