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
        assertEquals(SyntheticMathTask.generate(3, 50, Set.of(), true), SyntheticMathTask.generate(3, 50, Set.of(), true));
        assertNotEquals(SyntheticMathTask.generate(3, 50, Set.of(), true), SyntheticMathTask.generate(4, 50, Set.of(), true));
    }

    @Test
    void answersAreTheValueOfTheExpressionAndEveryStepIsCorrect() {
        for (SyntheticMathTask.Problem problem : SyntheticMathTask.generate(11, 2000, Set.of(), false)) {
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
        List<SyntheticMathTask.Problem> problems = SyntheticMathTask.generate(5, 400, Set.of(), true);
        Map<Integer, Long> perLevel = problems.stream()
                .collect(Collectors.groupingBy(SyntheticMathTask.Problem::level, Collectors.counting()));
        assertEquals(Map.of(1, 100L, 2, 100L, 3, 100L, 4, 100L), perLevel);
        for (SyntheticMathTask.Problem problem : problems) {
            assertEquals(problem.level(), STEP.matcher(problem.solution()).results().count(), problem.solution());
        }
    }

    @Test
    void trainingDrawsMayRepeatButNeverAnExcludedPrompt() {
        Set<String> excluded = new HashSet<>();
        SyntheticMathTask.generate(2, 400, Set.of(), true).forEach(problem -> excluded.add(problem.prompt()));
        List<SyntheticMathTask.Problem> train = SyntheticMathTask.generate(1, 8000, excluded, false);
        assertEquals(8000, train.size());
        assertTrue(train.stream().noneMatch(problem -> excluded.contains(problem.prompt())));
        assertTrue(train.stream().map(SyntheticMathTask.Problem::prompt).distinct().count() < 8000,
                "level 1 has fewer than 2000 distinct prompts, so 2000 level-1 draws must repeat");
    }

    @Test
    void splitsAreWrittenAsJsonlWithoutSharedPrompts(@TempDir Path directory) throws Exception {
        SyntheticMathTask.writeSplits(directory, 3000, 1, 400, 2);
        ObjectMapper mapper = new ObjectMapper();
        Set<String> train = prompts(mapper, directory.resolve("train.jsonl"), 3000, false);
        Set<String> test = prompts(mapper, directory.resolve("test.jsonl"), 400, true);
        Set<String> shared = new HashSet<>(train);
        shared.retainAll(test);
        assertTrue(shared.isEmpty(), "prompts in both splits: " + shared);
    }

    @Test
    void equalSeedsAndExhaustedLevelsAreRefused(@TempDir Path directory) {
        assertThrows(IllegalArgumentException.class, () -> SyntheticMathTask.writeSplits(directory, 10, 5, 10, 5));
        // Level 1 has at most 51 · 9 · 2 = 918 distinct prompts; asking for 4 · 1000 distinct problems must fail, not loop.
        assertThrows(IllegalStateException.class, () -> SyntheticMathTask.generate(1, 4 * 1000, Set.of(), true));
    }

    private static Set<String> prompts(ObjectMapper mapper, Path file, int expectedLines, boolean distinct)
            throws Exception {
        List<String> lines = Files.readAllLines(file);
        assertEquals(expectedLines, lines.size());
        Set<String> prompts = new HashSet<>();
        for (String line : lines) {
            JsonNode node = mapper.readTree(line);
            assertEquals(Set.of("prompt", "answer", "level", "solution"), fieldNames(node));
            assertTrue(node.get("level").isInt());
            boolean added = prompts.add(node.get("prompt").asText());
            assertTrue(added || !distinct, "duplicate prompt in " + file);
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
