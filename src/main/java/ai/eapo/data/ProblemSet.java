package ai.eapo.data;

import ai.eapo.UserInputException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Verifiable problems read from JSON lines with {@code prompt} (or {@code problem} / {@code question}),
 * {@code answer}, and optionally {@code solution} and {@code level}. A bad line is named by its number.
 */
public final class ProblemSet {

    /** One problem; {@code solution} may be empty when the data has none. */
    public record Problem(String prompt, String answer, String solution, String level) {
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> PROMPT_FIELDS = List.of("prompt", "problem", "question");

    private ProblemSet() {
    }

    public static List<Problem> read(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new UserInputException("data file " + file + " does not exist");
        }
        List<Problem> out = new ArrayList<>();
        try {
            List<String> lines = Files.readAllLines(file);
            for (int i = 0; i < lines.size(); i++) {
                String line = lines.get(i).strip();
                if (line.isEmpty()) {
                    continue;
                }
                out.add(parse(line, file, i + 1));
            }
        } catch (IOException e) {
            throw new UserInputException("cannot read " + file + ": " + e.getMessage(), e);
        }
        if (out.isEmpty()) {
            throw new UserInputException("data file " + file + " holds no problems");
        }
        return out;
    }

    private static Problem parse(String line, Path file, int number) {
        JsonNode node;
        try {
            node = JSON.readTree(line);
        } catch (IOException e) {
            throw new UserInputException(file + " line " + number + ": not valid JSON");
        }
        String prompt = PROMPT_FIELDS.stream().filter(node::hasNonNull).map(f -> node.get(f).asText()).findFirst()
                .orElseThrow(() -> new UserInputException(file + " line " + number + ": no prompt, problem or question field"));
        if (!node.hasNonNull("answer")) {
            throw new UserInputException(file + " line " + number + ": no answer field");
        }
        return new Problem(prompt, node.get("answer").asText(), node.path("solution").asText(""),
                node.path("level").asText(""));
    }
}
