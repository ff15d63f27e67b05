package ai.eapo.node;

import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.eapo.UserInputException;
import ai.eapo.model.TokenizerVocabulary;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/** A prior whose tokenizer is not the policy's is refused at start-up, before any weight is read. */
class PriorTokenizerTest {

    private static final Path POLICY = Path.of("models/tiny-base");
    private static final Path PRIOR = Path.of("models/tiny-prior");

    @Test
    void aPriorWithAnotherTokenizerIsRefusedNamingBoth(@TempDir Path dir) throws IOException {
        Path qwenPrior = dir.resolve("qwen-tokenizer-prior");
        Files.createDirectories(qwenPrior);
        try (Stream<Path> files = Files.list(PRIOR)) {
            for (Path f : files.toList()) {
                Files.copy(f, qwenPrior.resolve(f.getFileName()));
            }
        }
        Files.copy(EvalCommandTest.qwenTokenizerDir().resolve("tokenizer.json"), qwenPrior.resolve("tokenizer.json"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        TokenizerVocabulary policy = TokenizerVocabulary.read(POLICY);
        TokenizerVocabulary qwen = TokenizerVocabulary.read(qwenPrior);
        assertNotEquals(policy.fingerprint(), qwen.fingerprint());
        assertTrue(qwen.size() > 151_643, "Qwen's tokenizer has 151,643 tokens and its added ones, read " + qwen.size());

        UserInputException refused = assertThrows(UserInputException.class,
                () -> PipelineRun.budgetOf(withPrior(qwenPrior)));
        assertTrue(refused.getMessage().contains(policy.describe()) && refused.getMessage().contains(qwen.describe()),
                refused.getMessage());

        PipelineRun.budgetOf(withPrior(PRIOR)); // the committed prior shares the policy's tokenizer
    }

    private static Config withPrior(Path prior) {
        return ConfigFactory.parseString("eapo.train.prior = \"" + prior + "\"").withFallback(ConfigFactory.load());
    }
}
