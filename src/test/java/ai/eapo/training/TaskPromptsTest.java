package ai.eapo.training;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.eapo.model.PolicyTokenizer;
import ai.eapo.model.TestPaths;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

/** A response ends at any end-of-sequence id the model declares. */
class TaskPromptsTest {

    static final long ENDOFTEXT = 151643;
    static final long IM_END = 151645;

    @Test
    void anInstructModelStopsAtImEndAndAtEndOfTextAndTrainsTowardTheLowest(@TempDir Path model) throws IOException {
        // A Qwen2.5-Instruct layout: tokenizer_config's eos_token <|im_end|>, generation_config's both ids.
        for (String file : new String[] {"tokenizer.json", "tokenizer_config.json"}) {
            Files.copy(TestPaths.qwenTokenizer().resolve(file), model.resolve(file));
        }
        Files.writeString(model.resolve("generation_config.json"),
                "{\"eos_token_id\": [" + IM_END + ", " + ENDOFTEXT + "]}");
        try (PolicyTokenizer tokenizer = PolicyTokenizer.load(model, null)) {
            TaskPrompts prompts = new TaskPrompts(tokenizer, "{prompt}");
            assertEquals(Set.of(IM_END, ENDOFTEXT), prompts.stopIds());
            assertEquals(ENDOFTEXT, prompts.eos());
        }
    }
}
