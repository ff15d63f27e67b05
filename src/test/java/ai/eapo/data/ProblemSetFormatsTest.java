package ai.eapo.data;

import ai.eapo.UserInputException;
import ai.eapo.model.TestPaths;
import ai.eapo.verify.MathVerifier;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The real benchmark files load in the default format, and every gold solution agrees with its answer. */
class ProblemSetFormatsTest {

    static final Path DATA = TestPaths.shared().resolve("data");
    static final DataFormat DEFAULT = DataFormat.fromConfig(ConfigFactory.load());
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    static DataFormat with(String overrides) {
        return DataFormat.fromConfig(ConfigFactory.parseString(overrides).withFallback(ConfigFactory.load()));
    }

    @Test
    void gsm8kAnswersAreTheirHashLinesAndTheWorkedAnswerIsTheSolution() throws IOException {
        List<ProblemSet.Problem> problems = ProblemSet.read(DATA.resolve("gsm8k-test.jsonl"), DEFAULT);
        List<String> lines = Files.readAllLines(DATA.resolve("gsm8k-test.jsonl"));
        assertEquals(1319, problems.size());
        MathVerifier verifier = new MathVerifier();
        for (int i = 0; i < problems.size(); i++) {
            ProblemSet.Problem p = problems.get(i);
            JsonNode row = JSON.readTree(lines.get(i));
            String worked = row.get("answer").asText();
            String last = worked.substring(worked.lastIndexOf("#### ") + 5).strip();
            assertEquals(last.replace(",", ""), p.answer(), "line " + (i + 1));
            assertEquals(row.get("question").asText(), p.prompt());
            assertEquals(worked, p.solution());
            assertTrue(verifier.verify(p.solution(), p.answer()).correct(), "line " + (i + 1) + " solution vs answer");
        }
        assertTrue(problems.stream().anyMatch(p -> p.answer().length() >= 4), "some answers had thousands separators");
    }

    @Test
    void math500KeepsSubjectsAndLevelsAndItsBoxedSolutionsAgreeWithTheAnswers() {
        List<ProblemSet.Problem> problems = ProblemSet.read(DATA.resolve("math500-test.jsonl"), DEFAULT);
        assertEquals(500, problems.size());
        Set<String> subjects = problems.stream().map(ProblemSet.Problem::subject).collect(Collectors.toSet());
        assertEquals(7, subjects.size(), subjects.toString());
        assertEquals(Set.of("1", "2", "3", "4", "5"), problems.stream().map(ProblemSet.Problem::level).collect(Collectors.toSet()));
        // The answer taken from each solution's \boxed{} instead of the answer field must mean the same.
        List<ProblemSet.Problem> boxed = ProblemSet.read(DATA.resolve("math500-test.jsonl"), with("eapo.data.answer-from = boxed"));
        MathVerifier verifier = new MathVerifier();
        int agree = 0;
        for (int i = 0; i < problems.size(); i++) {
            if (verifier.verify("\\boxed{" + boxed.get(i).answer() + "}", problems.get(i).answer()).correct()) {
                agree++;
            }
        }
        assertTrue(agree >= 495, "boxed solutions agree with the answers for " + agree + " of 500");
    }

    @Test
    void fieldNamesAndTheAnswerSourceAreConfiguration() throws IOException {
        Path file = dir.resolve("custom.jsonl");
        Files.writeString(file, "{\"q\": \"What is 2+3?\", \"sol\": \"2+3 = \\\\boxed{5}.\", \"difficulty\": 4, \"topic\": \"arith\"}\n");
        DataFormat custom = with("eapo.data.fields { problem = [q], solution = [sol], level = [difficulty], subject = [topic] }");
        ProblemSet.Problem p = ProblemSet.read(file, custom).get(0);
        assertEquals(new ProblemSet.Problem("What is 2+3?", "5", "2+3 = \\boxed{5}.", "4", "arith"), p);
        UserInputException noProblem = assertThrows(UserInputException.class, () -> ProblemSet.read(file, DEFAULT));
        assertTrue(noProblem.getMessage().contains("line 1") && noProblem.getMessage().contains("problem"), noProblem.getMessage());
        UserInputException badSource = assertThrows(UserInputException.class, () -> with("eapo.data.answer-from = magic"));
        assertTrue(badSource.getMessage().contains("magic"), badSource.getMessage());
    }

    @Test
    void theEmbeddedTaskReadsAsBefore() {
        List<ProblemSet.Problem> test = ProblemSet.read(Path.of("data/synthetic/test.jsonl"), DEFAULT);
        assertEquals(400, test.size());
        assertTrue(test.stream().allMatch(p -> p.answer().matches("\\d+")), "plain number answers");
    }
}
