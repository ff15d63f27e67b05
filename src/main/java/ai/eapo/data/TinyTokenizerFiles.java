package ai.eapo.data;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A character-level tokenizer in Hugging Face {@code tokenizers} format for the synthetic task: one
 * token per character of printable ASCII plus newline, and Qwen's ChatML special tokens. A WordLevel
 * model over a pre-tokenizer that isolates every character, with a Fuse decoder so that decoding
 * concatenates instead of joining with spaces. Loadable by DJL's {@code HuggingFaceTokenizer} and by
 * {@code transformers.AutoTokenizer}.
 */
public final class TinyTokenizerFiles {

    public static final String END_OF_TEXT = "<|endoftext|>";
    public static final String IM_START = "<|im_start|>";
    public static final String IM_END = "<|im_end|>";
    public static final String UNKNOWN = "<unk>";
    /** Special tokens take ids 0..3 in this order; {@code <|endoftext|>} is both eos and pad. */
    public static final List<String> SPECIAL_TOKENS = List.of(END_OF_TEXT, IM_START, IM_END, UNKNOWN);
    /** Printable ASCII, space to tilde. */
    private static final char FIRST_PRINTABLE = ' ';
    private static final char LAST_PRINTABLE = '~';
    /** Longest sequence the tokenizer advertises (prompt + response of the synthetic task fit easily). */
    private static final int MODEL_MAX_LENGTH = 512;
    /** Qwen's ChatML template, so that HF tools build the same prompts. */
    private static final String CHAT_TEMPLATE = "{% for message in messages %}{{'<|im_start|>' + message['role']"
            + " + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
            + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    private TinyTokenizerFiles() {
    }

    /** Every token in id order: the special tokens, newline, then printable ASCII. */
    public static List<String> vocabulary() {
        List<String> tokens = new ArrayList<>(SPECIAL_TOKENS);
        tokens.add("\n");
        for (char c = FIRST_PRINTABLE; c <= LAST_PRINTABLE; c++) {
            tokens.add(String.valueOf(c));
        }
        return Collections.unmodifiableList(tokens);
    }

    /** Writes {@code tokenizer.json} and {@code tokenizer_config.json} into {@code directory}. */
    public static void write(Path directory) throws IOException {
        ObjectMapper mapper = new ObjectMapper();
        Files.createDirectories(directory);
        mapper.writerWithDefaultPrettyPrinter()
                .writeValue(directory.resolve("tokenizer.json").toFile(), tokenizer(mapper));
        mapper.writerWithDefaultPrettyPrinter()
                .writeValue(directory.resolve("tokenizer_config.json").toFile(), tokenizerConfig(mapper));
    }

    private static ObjectNode tokenizer(ObjectMapper mapper) {
        ObjectNode root = mapper.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int id = 0; id < SPECIAL_TOKENS.size(); id++) {
            added.add(addedToken(mapper, id, SPECIAL_TOKENS.get(id)));
        }
        root.putNull("normalizer");
        ObjectNode preTokenizer = root.putObject("pre_tokenizer");
        preTokenizer.put("type", "Split");
        // [\s\S] matches any character including newline; Isolated makes each one its own piece.
        preTokenizer.putObject("pattern").put("Regex", "[\\s\\S]");
        preTokenizer.put("behavior", "Isolated");
        preTokenizer.put("invert", false);
        root.putNull("post_processor");
        root.putObject("decoder").put("type", "Fuse");
        ObjectNode model = root.putObject("model");
        model.put("type", "WordLevel");
        ObjectNode vocab = model.putObject("vocab");
        List<String> tokens = vocabulary();
        for (int id = 0; id < tokens.size(); id++) {
            vocab.put(tokens.get(id), id);
        }
        model.put("unk_token", UNKNOWN);
        return root;
    }

    private static ObjectNode addedToken(ObjectMapper mapper, int id, String content) {
        ObjectNode token = mapper.createObjectNode();
        token.put("id", id);
        token.put("content", content);
        token.put("single_word", false);
        token.put("lstrip", false);
        token.put("rstrip", false);
        token.put("normalized", false);
        token.put("special", true);
        return token;
    }

    private static ObjectNode tokenizerConfig(ObjectMapper mapper) {
        ObjectNode config = mapper.createObjectNode();
        config.put("tokenizer_class", "PreTrainedTokenizerFast");
        config.put("eos_token", END_OF_TEXT);
        config.put("pad_token", END_OF_TEXT);
        config.put("unk_token", UNKNOWN);
        config.putNull("bos_token");
        config.put("model_max_length", MODEL_MAX_LENGTH);
        config.put("clean_up_tokenization_spaces", false);
        config.put("chat_template", CHAT_TEMPLATE);
        ObjectNode decoder = config.putObject("added_tokens_decoder");
        for (int id = 0; id < SPECIAL_TOKENS.size(); id++) {
            ObjectNode token = addedToken(mapper, id, SPECIAL_TOKENS.get(id));
            token.remove("id");
            decoder.set(Integer.toString(id), token);
        }
        return config;
    }
}
