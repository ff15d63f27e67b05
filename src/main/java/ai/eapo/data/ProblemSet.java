package ai.eapo.data;

import ai.eapo.UserInputException;
import ai.eapo.verify.AnswerExtractor;
import ai.eapo.verify.Extraction;
import ai.eapo.verify.ExtractionRule;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Verifiable problems read from JSON lines or parquet: the problem text, its reference answer, and optionally a
 * worked solution, a subject and a level, under the field names (or dotted paths) of a {@link DataFormat} (by
 * default JSONL's {@code prompt} / {@code problem} / {@code question}, {@code answer}, ... and verl's
 * {@code reward_model.ground_truth}, {@code extra_info.level}, {@code data_source}). A problem given as chat
 * messages is rendered in the {@link ChatFormat}. GSM8K's worked answers ({@code ... #### 18}) and MATH's boxed
 * solutions give their final answers. A bad line or row is named by its number.
 */
public final class ProblemSet {

    /**
     * One problem; {@code solution}, {@code level} and {@code subject} are empty when the data has none.
     *
     * @param chat the prompt is a whole conversation already rendered in the chat format (the data gave chat
     *     messages), so the prompt template does not apply to it
     */
    public record Problem(String prompt, String answer, String solution, String level, String subject,
                          boolean chat) {

        public Problem(String prompt, String answer, String solution, String level, String subject) {
            this(prompt, answer, solution, level, subject, false);
        }

        public Problem(String prompt, String answer, String solution, String level) {
            this(prompt, answer, solution, level, "");
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String PARQUET = ".parquet";
    /** GSM8K's last line; its number may have thousands separators ("1,000"). */
    private static final Pattern THOUSANDS = Pattern.compile("-?\\d{1,3}(,\\d{3})+(\\.\\d+)?");
    private static final AnswerExtractor EXTRACTOR = new AnswerExtractor(false);

    private ProblemSet() {
    }

    /** The problems of {@code file} in the configured format ({@code eapo.data}). */
    public static List<Problem> read(Path file) {
        return read(file, DataFormat.fromConfig(ConfigFactory.load()));
    }

    /** The problems of a {@code .parquet} file (verl's layout, say) or of a JSONL file (any other name). */
    public static List<Problem> read(Path file, DataFormat format) {
        if (!Files.isRegularFile(file)) {
            throw new UserInputException("data file " + file + " does not exist");
        }
        List<Problem> out = new ArrayList<>();
        if (file.getFileName().toString().toLowerCase(java.util.Locale.ROOT).endsWith(PARQUET)) {
            List<JsonNode> rows = ParquetRows.read(file);
            for (int i = 0; i < rows.size(); i++) {
                out.add(parse(rows.get(i), format, file + " row " + i + " (counting from 0)"));
            }
        } else {
            try {
                List<String> lines = Files.readAllLines(file);
                for (int i = 0; i < lines.size(); i++) {
                    String line = lines.get(i).strip();
                    if (!line.isEmpty()) {
                        out.add(parse(json(line, file + " line " + (i + 1)), format, file + " line " + (i + 1)));
                    }
                }
            } catch (IOException e) {
                throw new UserInputException("cannot read " + file + ": " + e.getMessage(), e);
            }
        }
        if (out.isEmpty()) {
            throw new UserInputException("data file " + file + " holds no problems");
        }
        return out;
    }

    private static JsonNode json(String line, String where) {
        try {
            return JSON.readTree(line);
        } catch (IOException e) {
            throw new UserInputException(where + ": not valid JSON");
        }
    }

    private static Problem parse(JsonNode node, DataFormat format, String where) {
        Optional<JsonNode> messages = format.problemFields().stream().map(f -> field(node, f))
                .filter(v -> !v.isMissingNode() && !v.isNull()).findFirst();
        boolean chat = messages.map(JsonNode::isArray).orElse(false);
        String prompt = chat ? format.chat().render(messages.get(), where) : first(node, format.problemFields())
                .orElseThrow(() -> new UserInputException(where + ": none of the problem fields "
                        + format.problemFields()));
        Optional<String> answerField = first(node, format.answerFields());
        Optional<String> solutionField = first(node, format.solutionFields());
        boolean gsm8k = answerField.map(ProblemSet::isGsm8k).orElse(false);
        String answer = switch (format.answerFrom()) {
            case FIELD -> answerField.orElseThrow(() -> missing(where, "answer", format.answerFields()));
            case GSM8K -> hashes(answerField.orElseThrow(() -> missing(where, "answer", format.answerFields())), where);
            case BOXED -> boxed(solutionField.orElse(""), where);
            case AUTO -> answerField.map(a -> gsm8k ? hashes(a, where) : a)
                    .orElseGet(() -> boxed(solutionField.orElse(""), where));
        };
        // GSM8K's "answer" field is the worked solution.
        String solution = solutionField.orElse(gsm8k ? answerField.get() : "");
        return new Problem(prompt, answer, solution, first(node, format.levelFields()).orElse(""),
                first(node, format.subjectFields()).orElse(""), chat);
    }

    /** The text of the first of {@code fields} present; a field is a name or a dotted path into nested objects. */
    private static Optional<String> first(JsonNode node, List<String> fields) {
        return fields.stream().map(f -> field(node, f)).filter(v -> !v.isMissingNode() && !v.isNull())
                .map(JsonNode::asText).findFirst();
    }

    private static JsonNode field(JsonNode node, String path) {
        JsonNode at = node;
        for (String name : path.split("\\.")) {
            at = at.path(name);
        }
        return at;
    }

    private static UserInputException missing(String where, String what, List<String> fields) {
        return new UserInputException(where + ": no " + what + " field " + fields);
    }

    private static boolean isGsm8k(String answer) {
        return extract(answer).rule() == ExtractionRule.GSM8K_HASHES;
    }

    /** N of a GSM8K worked solution's {@code #### N} line, without thousands separators. */
    private static String hashes(String worked, String where) {
        Extraction e = extract(worked);
        if (e.rule() != ExtractionRule.GSM8K_HASHES) {
            throw new UserInputException(where + ": the answer has no '#### N' line (eapo.data.answer-from = gsm8k)");
        }
        String n = e.text().strip();
        return THOUSANDS.matcher(n).matches() ? n.replace(",", "") : n;
    }

    /** The last {@code \boxed{}} of a MATH solution. */
    private static String boxed(String solution, String where) {
        Extraction e = extract(solution);
        if (e.rule() != ExtractionRule.BOXED) {
            throw new UserInputException(where + ": no answer field, and the solution has no \\boxed{} answer");
        }
        return e.text();
    }

    private static Extraction extract(String text) {
        return EXTRACTOR.extract(text);
    }
}
