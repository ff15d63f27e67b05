package ai.eapo.model;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.eapo.UserInputException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * A Hugging Face tokenizer read from a model directory ({@code tokenizer.json} + {@code tokenizer_config.json}),
 * with the ids that end a generation and the padding id.
 */
public final class PolicyTokenizer implements AutoCloseable {

    /** Files that belong to a tokenizer and travel with every saved checkpoint. */
    public static final List<String> FILES = List.of("tokenizer.json", "tokenizer_config.json",
            "special_tokens_map.json", "generation_config.json", "vocab.json", "merges.txt");

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Copies those of {@link #FILES} that {@code from} holds into {@code to}. */
    static void copyFiles(Path from, Path to) throws IOException {
        for (String f : FILES) {
            Path src = from.resolve(f);
            if (Files.isRegularFile(src)) {
                Files.copy(src, to.resolve(f));
            }
        }
    }

    private final HuggingFaceTokenizer tokenizer;
    private final Set<Long> eosIds;
    private final Long padId;
    private final TokenizerVocabulary vocabulary;

    private PolicyTokenizer(HuggingFaceTokenizer tokenizer, Set<Long> eosIds, Long padId,
                            TokenizerVocabulary vocabulary) {
        this.tokenizer = tokenizer;
        this.eosIds = eosIds;
        this.padId = padId;
        this.vocabulary = vocabulary;
    }

    /** Loads the tokenizer of a model directory; {@code config} adds its eos ids from config.json. */
    public static PolicyTokenizer load(Path dir, ModelConfig config) {
        Path file = dir.resolve("tokenizer.json");
        if (!Files.isRegularFile(file)) {
            throw new UserInputException("model directory " + dir + " has no tokenizer.json");
        }
        HuggingFaceTokenizer tokenizer;
        try {
            tokenizer = HuggingFaceTokenizer.builder()
                    .optTokenizerPath(file)
                    .optAddSpecialTokens(false)
                    .optTruncation(false)
                    .optPadding(false)
                    .build();
        } catch (IOException | RuntimeException e) {
            throw new UserInputException(file + ": cannot load tokenizer (" + e.getMessage() + ")", e);
        }
        JsonNode tokConfig = readJson(dir.resolve("tokenizer_config.json"));
        JsonNode genConfig = readJson(dir.resolve("generation_config.json"));
        Set<Long> eos = new LinkedHashSet<>();
        if (config != null) {
            config.eosTokenIds().forEach(id -> eos.add(id.longValue()));
        }
        addIds(genConfig.get("eos_token_id"), eos);
        PolicyTokenizer probe = new PolicyTokenizer(tokenizer, eos, null, null);
        tokenText(tokConfig.get("eos_token")).flatMap(probe::singleTokenId).ifPresent(eos::add);
        Long pad = tokenText(tokConfig.get("pad_token")).flatMap(probe::singleTokenId).orElse(null);
        return new PolicyTokenizer(tokenizer, Set.copyOf(eos), pad, TokenizerVocabulary.read(dir));
    }

    public long[] encode(String text) {
        return tokenizer.encode(text, false, false).getIds();
    }

    /** Decodes ids to text, keeping special tokens so that encode(decode(x)) round-trips. */
    public String decode(long[] ids) {
        return tokenizer.decode(ids, false);
    }

    /** Decodes ids to the text a user reads: special tokens dropped. */
    public String decodeForDisplay(long[] ids) {
        return tokenizer.decode(ids, true);
    }

    public Set<Long> eosIds() {
        return eosIds;
    }

    public Optional<Long> padId() {
        return Optional.ofNullable(padId);
    }

    /** The token ids this tokenizer produces: how many, and a fingerprint to compare tokenizers by. */
    public TokenizerVocabulary vocabulary() {
        return vocabulary;
    }

    private Optional<Long> singleTokenId(String text) {
        long[] ids = tokenizer.encode(text, false, false).getIds();
        return ids.length == 1 ? Optional.of(ids[0]) : Optional.empty();
    }

    private static Optional<String> tokenText(JsonNode node) {
        if (node == null || node.isNull()) {
            return Optional.empty();
        }
        // Either "<|endoftext|>" or an AddedToken object {"content": "<|endoftext|>", ...}.
        String text = node.isObject() ? node.path("content").asText("") : node.asText("");
        return text.isEmpty() ? Optional.empty() : Optional.of(text);
    }

    private static void addIds(JsonNode node, Set<Long> out) {
        if (node == null || node.isNull()) {
            return;
        }
        if (node.isArray()) {
            node.forEach(n -> out.add(n.asLong()));
        } else {
            out.add(node.asLong());
        }
    }

    private static JsonNode readJson(Path file) {
        if (!Files.isRegularFile(file)) {
            return JSON.createObjectNode();
        }
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new UserInputException(file + ": not valid JSON (" + e.getMessage().lines().findFirst().orElse("") + ")");
        }
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
