package ai.eapo.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SyntheticMathTaskTest {

    private static final Pattern PROMPT = Pattern.compile("Compute (.+)\\.");
    private static final Pattern STEP = Pattern.compile("(\\d+)([-+*])(\\d+)=(\\d+)\\.");

    @Test
    void sameSeedSameProblemsOtherSeedOtherProblems() {
        assertEquals(SyntheticMathTask.generate(3, 50, Set.of()), SyntheticMathTask.generate(3, 50, Set.of()));
        assertNotEquals(SyntheticMathTask.generate(3, 50, Set.of()), SyntheticMathTask.generate(4, 50, Set.of()));
    }

    @Test
    void answersAreTheValueOfTheExpressionAndEveryStepIsCorrect() {
        for (SyntheticMathTask.Problem problem : SyntheticMathTask.generate(11, 2000, Set.of())) {
            Matcher prompt = PROMPT.matcher(problem.prompt());
            assertTrue(prompt.matches(), problem.prompt());
            assertEquals(evaluate(prompt.group(1)), Long.parseLong(problem.answer()), problem.prompt());
            assertTrue(ExactBoxedAnswer.isCorrect(problem.solution(), problem.answer()), problem.solution());
            Matcher step = STEP.matcher(problem.solution());
            int steps = 0;
            long last = -1;
            while (step.find()) {
                long left = Long.parseLong(step.group(1));
                long right = Long.parseLong(step.group(3));
                long result = switch (step.group(2)) {
                    case "+" -> left + right;
                    case "-" -> left - right;
                    default -> left * right;
                };
                assertEquals(result, Long.parseLong(step.group(4)), problem.solution());
                assertTrue(result >= 0, problem.solution());
                last = result;
                steps++;
            }
            assertTrue(steps > 0, problem.solution());
            assertEquals(Long.parseLong(problem.answer()), last, problem.solution());
        }
    }

    @Test
    void levelsAreBalancedAndStepsGrowWithLevel() {
        List<SyntheticMathTask.Problem> problems = SyntheticMathTask.generate(5, 400, Set.of());
        Map<Integer, Long> perLevel = problems.stream()
                .collect(Collectors.groupingBy(SyntheticMathTask.Problem::level, Collectors.counting()));
        assertEquals(Map.of(1, 100L, 2, 100L, 3, 100L, 4, 100L), perLevel);
        Map<Integer, Long> stepsPerLevel = Map.of(1, 1L, 2, 2L, 3, 2L, 4, 3L);
        for (SyntheticMathTask.Problem problem : problems) {
            assertEquals(stepsPerLevel.get(problem.level()), STEP.matcher(problem.solution()).results().count(),
                    problem.solution());
        }
    }

    @Test
    void splitsAreWrittenAsJsonlWithoutSharedPrompts(@TempDir Path directory) throws Exception {
        SyntheticMathTask.writeSplits(directory, 3000, 1, 400, 2);
        ObjectMapper mapper = new ObjectMapper();
        Set<String> train = prompts(mapper, directory.resolve("train.jsonl"), 3000);
        Set<String> test = prompts(mapper, directory.resolve("test.jsonl"), 400);
        Set<String> shared = new HashSet<>(train);
        shared.retainAll(test);
        assertTrue(shared.isEmpty(), "prompts in both splits: " + shared);
    }

    @Test
    void equalSeedsAndExhaustedLevelsAreRefused(@TempDir Path directory) {
        assertThrows(IllegalArgumentException.class, () -> SyntheticMathTask.writeSplits(directory, 10, 5, 10, 5));
        // Level 3 has 20 · 20 · 8 = 3200 distinct prompts; asking for 4 · 3300 problems must fail, not loop.
        assertThrows(IllegalStateException.class, () -> SyntheticMathTask.generate(1, 4 * 3300, Set.of()));
    }

    private static Set<String> prompts(ObjectMapper mapper, Path file, int expectedLines) throws Exception {
        List<String> lines = Files.readAllLines(file);
        assertEquals(expectedLines, lines.size());
        Set<String> prompts = new HashSet<>();
        for (String line : lines) {
            JsonNode node = mapper.readTree(line);
            assertEquals(Set.of("prompt", "answer", "level", "solution"), fieldNames(node));
            assertTrue(node.get("level").isInt());
            assertTrue(prompts.add(node.get("prompt").asText()), "duplicate prompt in " + file);
        }
        return prompts;
    }

    private static Set<String> fieldNames(JsonNode node) {
        Set<String> names = new HashSet<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }

    /** Evaluates +, −, × and parentheses over non-negative integers, × binding tighter. */
    private static long evaluate(String expression) {
        return new Object() {
            private int position;

            long sum() {
                long value = product();
                while (position < expression.length() && "+-".indexOf(expression.charAt(position)) >= 0) {
                    char operator = expression.charAt(position++);
                    long right = product();
                    value = operator == '+' ? value + right : value - right;
                }
                return value;
            }

            long product() {
                long value = atom();
                while (position < expression.length() && expression.charAt(position) == '*') {
                    position++;
                    value *= atom();
                }
                return value;
            }

            long atom() {
                if (expression.charAt(position) == '(') {
                    position++;
                    long value = sum();
                    position++;
                    return value;
                }
                int start = position;
                while (position < expression.length() && Character.isDigit(expression.charAt(position))) {
                    position++;
                }
                return Long.parseLong(expression.substring(start, position));
            }
        }.sum();
    }
}
