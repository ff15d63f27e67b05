package ai.eapo.model;

import ai.eapo.UserInputException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.TreeMap;

/**
 * The token ids a tokenizer can produce ({@code tokenizer.json}: its model's vocabulary and its added tokens),
 * which is what a policy and its prior must share: the prior's token ids are fed to the policy. Two checkpoints
 * of one family pad their embeddings differently (151,936 rows in Qwen2.5-Math-1.5B, 152,064 in Qwen2.5-Math-7B,
 * one tokenizer of 151,665 tokens), so the rows past {@link #size} are padding: never sampled, and left out of
 * entropies and log-probs ({@link PolicyModel#limitVocabulary}).
 *
 * @param file the tokenizer.json read (as the node that read it names it)
 * @param size the number of token ids (the largest id + 1)
 * @param fingerprint SHA-256 of the (id, token) pairs in id order: equal for tokenizers that map every id alike
 */
public record TokenizerVocabulary(String file, int size, String fingerprint) {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** Hex digits of the SHA-256 kept in the fingerprint: enough to tell tokenizers apart, short enough to read. */
    private static final int FINGERPRINT_HEX_DIGITS = 16;

    /** The vocabulary of the tokenizer in model directory {@code dir}. */
    public static TokenizerVocabulary read(Path dir) {
        Path file = dir.resolve("tokenizer.json");
        if (!Files.isRegularFile(file)) {
            throw new UserInputException("model directory " + dir + " has no tokenizer.json");
        }
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new UserInputException(file + ": not valid JSON (" + e.getMessage().lines().findFirst().orElse("") + ")");
        }
        TreeMap<Integer, String> tokens = new TreeMap<>();
        JsonNode vocab = root.path("model").path("vocab");
        if (vocab.isObject()) {
            vocab.fields().forEachRemaining(e -> tokens.put(e.getValue().asInt(), e.getKey()));
        } else if (vocab.isArray()) {
            // Unigram: [[piece, score], ...], the id is the place.
            for (int id = 0; id < vocab.size(); id++) {
                tokens.put(id, vocab.get(id).path(0).asText());
            }
        }
        root.path("added_tokens").forEach(t -> tokens.put(t.path("id").asInt(), t.path("content").asText()));
        if (tokens.isEmpty()) {
            throw new UserInputException(file + ": no vocabulary (model.vocab) and no added_tokens");
        }
        MessageDigest sha = sha256();
        tokens.forEach((id, token) -> sha.update((id + "\t" + token + "\n").getBytes(StandardCharsets.UTF_8)));
        String fingerprint = "sha256:" + HexFormat.of().formatHex(sha.digest()).substring(0, FINGERPRINT_HEX_DIGITS);
        return new TokenizerVocabulary(file.toString(), tokens.lastKey() + 1, fingerprint);
    }

    /** {@code /models/x/tokenizer.json (151665 token ids, sha256:0123456789abcdef)}. */
    public String describe() {
        return file + " (" + size + " token ids, " + fingerprint + ")";
    }

    /**
     * Why a prior with tokenizer {@code prior} cannot serve a policy with this one, naming both, or null when they
     * map every id alike: otherwise the prior's token ids would mean other tokens to the policy.
     */
    public String priorMismatch(TokenizerVocabulary prior) {
        return fingerprint.equals(prior.fingerprint) ? null : "the prior's tokenizer " + prior.describe()
                + " is not the policy's " + describe() + ": the prior's token ids would mean other tokens to the "
                + "policy; use a prior of the policy's tokenizer";
    }

    /** Refuses, at start-up, a prior whose tokenizer is not the policy's ({@link #priorMismatch}). */
    public void requirePriorMatches(TokenizerVocabulary prior) {
        String mismatch = priorMismatch(prior);
        if (mismatch != null) {
            throw new UserInputException(mismatch);
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }
}
