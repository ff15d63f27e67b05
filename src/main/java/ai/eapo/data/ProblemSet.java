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
 * Verifiable problems read from JSON lines: the problem text, its reference answer, and optionally a worked
 * solution, a subject and a level, under the field names of a {@link DataFormat} (by default: {@code prompt} /
 * {@code problem} / {@code question}, {@code answer}, {@code solution}, {@code subject}, {@code level}).
 * GSM8K's worked answers ({@code ... #### 18}) and MATH's boxed solutions give their final answers. A bad line
 * is named by its number.
 */
public final class ProblemSet {

    /** One problem; {@code solution}, {@code level} and {@code subject} are empty when the data has none. */
    public record Problem(String prompt, String answer, String solution, String level, String subject) {

        public Problem(String prompt, String answer, String solution, String level) {
            this(prompt, answer, solution, level, "");
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    /** GSM8K's last line; its number may have thousands separators ("1,000"). */
    private static final Pattern THOUSANDS = Pattern.compile("-?\\d{1,3}(,\\d{3})+(\\.\\d+)?");
    private static final AnswerExtractor EXTRACTOR = new AnswerExtractor(false);

    private ProblemSet() {
    }

    /** The problems of {@code file} in the configured format ({@code eapo.data}). */
    public static List<Problem> read(Path file) {
        return read(file, DataFormat.fromConfig(ConfigFactory.load()));
    }

    public static List<Problem> read(Path file, DataFormat format) {
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
                out.add(parse(line, format, file + " line " + (i + 1)));
            }
        } catch (IOException e) {
            throw new UserInputException("cannot read " + file + ": " + e.getMessage(), e);
        }
        if (out.isEmpty()) {
            throw new UserInputException("data file " + file + " holds no problems");
        }
        return out;
    }

    private static Problem parse(String line, DataFormat format, String where) {
        JsonNode node;
        try {
            node = JSON.readTree(line);
        } catch (IOException e) {
            throw new UserInputException(where + ": not valid JSON");
        }
        String prompt = first(node, format.problemFields()).orElseThrow(() ->
                new UserInputException(where + ": none of the problem fields " + format.problemFields()));
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
                first(node, format.subjectFields()).orElse(""));
    }

    private static Optional<String> first(JsonNode node, List<String> fields) {
        return fields.stream().filter(node::hasNonNull).map(f -> node.get(f).asText()).findFirst();
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
