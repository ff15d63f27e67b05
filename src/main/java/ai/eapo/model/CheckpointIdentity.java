package ai.eapo.model;

import ai.eapo.UserInputException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * Which checkpoint a node's frozen LoRA base is, to compare across nodes: LoRA weight versions carry the adapters
 * only, and adapters trained on one base decode garbage on another. The fingerprint covers config.json and, of
 * every tensor, its name, dtype, shape and the first and last {@link #EDGE_BYTES} of its data
 * ({@link SafeTensors.File#digestEdges}): cheap to take at start-up, and different for a fine-tune of the same
 * architecture, which changes every tensor.
 *
 * @param directory the checkpoint as the node that read it names it
 * @param fingerprint {@code sha256:} and 16 hex digits
 */
public record CheckpointIdentity(String directory, String fingerprint) {

    static final int EDGE_BYTES = 4096;
    private static final int FINGERPRINT_HEX_DIGITS = 16;

    /** The identity of the whole checkpoint in {@code dir}. */
    public static CheckpointIdentity of(Path dir) {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
        try (Stream<Path> files = Files.list(dir)) {
            sha.update(Files.readAllBytes(dir.resolve("config.json")));
            List<Path> tensors = files.filter(f -> f.getFileName().toString().endsWith(".safetensors")).sorted().toList();
            for (Path file : tensors) {
                try (SafeTensors.File st = SafeTensors.open(file)) {
                    st.digestEdges(sha, EDGE_BYTES);
                }
            }
        } catch (IOException e) {
            throw new UserInputException(dir + ": cannot read the checkpoint to identify it (" + e.getMessage() + ")", e);
        }
        String hex = HexFormat.of().formatHex(sha.digest()).substring(0, FINGERPRINT_HEX_DIGITS);
        return new CheckpointIdentity(dir.toAbsolutePath().normalize().toString(), "sha256:" + hex);
    }

    /**
     * Why a sampler whose frozen base is {@code sampler} cannot decode the learner's versions when the learner's
     * is {@code learner} (either null: full-parameter weights), or null when they agree.
     */
    public static String mismatch(CheckpointIdentity learner, CheckpointIdentity sampler, String samplerName) {
        if (learner == null && sampler == null
                || learner != null && sampler != null && learner.fingerprint.equals(sampler.fingerprint)) {
            return null;
        }
        return samplerName + " decodes with " + describe(sampler) + ", the learner trains " + describe(learner)
                + ": LoRA versions carry the adapters only, which mean nothing on another base; give every node the "
                + "same base checkpoint and the same eapo.model.lora";
    }

    private static String describe(CheckpointIdentity base) {
        return base == null ? "whole weights (no LoRA)" : "adapters on " + base.directory + " (" + base.fingerprint + ")";
    }
}
