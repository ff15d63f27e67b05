package ai.eapo.training;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/**
 * What a checkpoint directory held when it was finished: {@value #FILE} lists every other file (relative path,
 * size in bytes, CRC32C of the contents). It is written last, just before the directory is renamed into place, so
 * a checkpoint damaged later (a truncated or overwritten file, a file missing or added) is told from a good one
 * before anything is loaded from it.
 *
 * <p>CRC32C because it is what the JDK computes in hardware (several GB/s), so verifying the checkpoint of a
 * 7B model and its optimizer costs seconds against the minutes of loading it; it detects damage, not tampering.
 */
public final class CheckpointManifest {

    public static final String FILE = "manifest.json";
    /** Bumped when the layout changes incompatibly; a manifest of another format fails verification. */
    static final int FORMAT = 1;

    private static final String KEY_FORMAT = "format";
    private static final String KEY_FILES = "files";
    private static final String KEY_PATH = "path";
    private static final String KEY_BYTES = "bytes";
    private static final String KEY_CRC32C = "crc32c";
    private static final int READ_BUFFER_BYTES = 1 << 20;
    private static final ObjectMapper JSON = new ObjectMapper();

    private CheckpointManifest() {
    }

    /** Writes {@value #FILE} in {@code dir} describing every other file below it. */
    public static void write(Path dir) throws IOException {
        ObjectNode manifest = JSON.createObjectNode();
        manifest.put(KEY_FORMAT, FORMAT);
        ArrayNode files = manifest.putArray(KEY_FILES);
        for (String path : files(dir)) {
            Path file = dir.resolve(path);
            files.addObject().put(KEY_PATH, path).put(KEY_BYTES, Files.size(file)).put(KEY_CRC32C, crc32c(file));
        }
        try (OutputStream out = Files.newOutputStream(dir.resolve(FILE))) {
            JSON.writerWithDefaultPrettyPrinter().writeValue(out, manifest);
        }
    }

    /**
     * Why {@code dir} does not match its manifest, naming the file and the expected and actual values; empty when
     * every listed file is there with its size and checksum and no other file is. Sizes are all checked before
     * any checksum, so a truncated file is found without reading the rest.
     */
    public static Optional<String> problem(Path dir) {
        Path manifestFile = dir.resolve(FILE);
        if (!Files.isRegularFile(manifestFile)) {
            return Optional.of(manifestFile + " is missing (a checkpoint is complete only with its manifest)");
        }
        JsonNode manifest;
        try (InputStream in = Files.newInputStream(manifestFile)) {
            manifest = JSON.readTree(in);
        } catch (IOException e) {
            return Optional.of(manifestFile + ": not valid JSON (" + e.getMessage() + ")");
        }
        if (manifest == null || manifest.path(KEY_FORMAT).asInt(-1) != FORMAT || !manifest.path(KEY_FILES).isArray()) {
            return Optional.of(manifestFile + ": not a manifest of format " + FORMAT);
        }
        try {
            Set<String> listed = new HashSet<>();
            for (JsonNode entry : manifest.get(KEY_FILES)) {
                String path = entry.path(KEY_PATH).asText();
                listed.add(path);
                Path file = dir.resolve(path);
                if (!Files.isRegularFile(file)) {
                    return Optional.of(file + " is missing (listed in " + FILE + ")");
                }
                long bytes = Files.size(file);
                if (bytes != entry.path(KEY_BYTES).asLong(-1)) {
                    return Optional.of(file + ": " + bytes + " bytes, " + FILE + " says " + entry.path(KEY_BYTES));
                }
            }
            for (String path : files(dir)) {
                if (!listed.contains(path)) {
                    return Optional.of(dir.resolve(path) + " is not in " + FILE + " (added after the checkpoint was written)");
                }
            }
            for (JsonNode entry : manifest.get(KEY_FILES)) {
                Path file = dir.resolve(entry.get(KEY_PATH).asText());
                String actual = crc32c(file);
                if (!actual.equals(entry.path(KEY_CRC32C).asText())) {
                    return Optional.of(file + ": CRC32C " + actual + ", " + FILE + " says " + entry.path(KEY_CRC32C).asText());
                }
            }
        } catch (IOException e) {
            return Optional.of("cannot read " + dir + " to verify it: " + e);
        }
        return Optional.empty();
    }

    /** Every regular file below {@code dir} but the manifest, as sorted relative paths with '/' separators. */
    private static List<String> files(Path dir) throws IOException {
        List<String> out = new ArrayList<>();
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.filter(Files::isRegularFile).toList()) {
                String relative = dir.relativize(p).toString().replace(p.getFileSystem().getSeparator(), "/");
                if (!relative.equals(FILE)) {
                    out.add(relative);
                }
            }
        }
        out.sort(null);
        return out;
    }

    private static String crc32c(Path file) throws IOException {
        CRC32C crc = new CRC32C();
        byte[] buffer = new byte[READ_BUFFER_BYTES];
        try (InputStream in = Files.newInputStream(file)) {
            for (int n; (n = in.read(buffer)) > 0; ) {
                crc.update(buffer, 0, n);
            }
        }
        return HexFormat.of().toHexDigits((int) crc.getValue());
    }
}
