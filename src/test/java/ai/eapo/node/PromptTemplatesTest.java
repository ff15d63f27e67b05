package ai.eapo.node;

import ai.eapo.UserInputException;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** eapo.data.prompt-template is a template or the name of one of eapo.data.prompt-templates. */
class PromptTemplatesTest {

    static Config with(String template) {
        return ConfigFactory.parseString("eapo.data.prompt-template = \"" + template + "\"").withFallback(ConfigFactory.load());
    }

    @Test
    void aNameSelectsATemplateAndALiteralTemplateIsUsedAsItIs() {
        String chat = TrainingOptions.prompts(with("qwen-chat"), null).template();
        assertTrue(chat.startsWith("<|im_start|>system\n") && chat.contains("\\boxed{}") && chat.contains("<|im_start|>user\n{prompt}"),
                chat);
        assertEquals("{prompt}\nPlease reason step by step, and put your final answer within \\boxed{}.\n",
                TrainingOptions.prompts(with("boxed"), null).template());
        assertEquals("Q: {prompt} A:", TrainingOptions.prompts(with("Q: {prompt} A:"), null).template());
        UserInputException unknown = assertThrows(UserInputException.class, () -> TrainingOptions.prompts(with("llama-chat"), null));
        assertTrue(unknown.getMessage().contains("llama-chat"), unknown.getMessage());
    }
}
