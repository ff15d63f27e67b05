package ai.eapo.data;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * The embedded task: seeded, verifiable multi-step integer arithmetic small enough for a model of a
 * few million parameters, each problem with a short worked solution ending in {@code \boxed{N}}.
 * Every intermediate and final result is a non-negative integer.
 */
public final class SyntheticMathTask {

    /** Draws per problem before concluding that a level has run out of distinct unseen prompts. */
    private static final int MAX_DRAWS_PER_PROBLEM = 10_000;

    private SyntheticMathTask() {
    }

    /** One JSONL line: {@code prompt}, reference {@code answer}, difficulty {@code level}, worked {@code solution}. */
    public record Problem(String prompt, String answer, int level, String solution) {
    }

    /** Difficulty levels: more steps and larger results as the level rises. */
    public enum Level {
        /** a + b with a, b in [0, 99]. */
        SUM(1) {
            @Override
            Problem draw(Random random) {
                int a = uniform(random, 0, 99);
                int b = uniform(random, 0, 99);
                return problem(this, a + "+" + b, List.of(step(a, '+', b, a + b)), a + b);
            }
        },
        /** a + b − c with a, b in [0, 50] and c in [0, a + b]. */
        SUM_DIFFERENCE(2) {
            @Override
            Problem draw(Random random) {
                int a = uniform(random, 0, 50);
                int b = uniform(random, 0, 50);
                int sum = a + b;
                int c = uniform(random, 0, sum);
                return problem(this, a + "+" + b + "-" + c,
                        List.of(step(a, '+', b, sum), step(sum, '-', c, sum - c)), sum - c);
            }
        },
        /** (a + b) × c with a, b in [1, 20] and c in [2, 9]. */
        SUM_PRODUCT(3) {
            @Override
            Problem draw(Random random) {
                int a = uniform(random, 1, 20);
                int b = uniform(random, 1, 20);
                int c = uniform(random, 2, 9);
                int sum = a + b;
                return problem(this, "(" + a + "+" + b + ")*" + c,
                        List.of(step(a, '+', b, sum), step(sum, '*', c, sum * c)), sum * c);
            }
        },
        /** (a + b) × c − d with a, b in [1, 20], c in [2, 9] and d in [0, (a + b) × c]. */
        SUM_PRODUCT_DIFFERENCE(4) {
            @Override
            Problem draw(Random random) {
                int a = uniform(random, 1, 20);
                int b = uniform(random, 1, 20);
                int c = uniform(random, 2, 9);
                int sum = a + b;
                int product = sum * c;
                int d = uniform(random, 0, product);
                return problem(this, "(" + a + "+" + b + ")*" + c + "-" + d,
                        List.of(step(a, '+', b, sum), step(sum, '*', c, product), step(product, '-', d, product - d)),
                        product - d);
            }
        };

        private final int number;

        Level(int number) {
            this.number = number;
        }

        /** The level as written in the {@code level} field. */
        public int number() {
            return number;
        }

        abstract Problem draw(Random random);
    }

    /**
     * {@code count} distinct problems from {@code seed}, levels taken in turn so that each level gets an
     * equal share, none of whose prompts is in {@code excludedPrompts}.
     *
     * @throws IllegalStateException if a level has too few distinct unseen prompts left
     */
    public static List<Problem> generate(long seed, int count, Set<String> excludedPrompts) {
        Random random = new Random(seed);
        Level[] levels = Level.values();
        Set<String> seen = new HashSet<>(excludedPrompts);
        List<Problem> problems = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            Level level = levels[i % levels.length];
            problems.add(drawUnseen(level, random, seen));
        }
        return problems;
    }

    /**
     * Writes {@code test.jsonl} (from {@code testSeed}) and {@code train.jsonl} (from {@code trainSeed},
     * excluding every test prompt) into {@code directory}.
     */
    public static void writeSplits(Path directory, int trainSize, long trainSeed, int testSize, long testSeed)
            throws IOException {
        if (trainSeed == testSeed) {
            throw new IllegalArgumentException("train and test seeds must differ, both are " + trainSeed);
        }
        List<Problem> test = generate(testSeed, testSize, Set.of());
        Set<String> testPrompts = new HashSet<>();
        test.forEach(problem -> testPrompts.add(problem.prompt()));
        List<Problem> train = generate(trainSeed, trainSize, testPrompts);
        Files.createDirectories(directory);
        writeJsonl(directory.resolve("test.jsonl"), test);
        writeJsonl(directory.resolve("train.jsonl"), train);
    }

    /** One problem per line as JSON. */
    public static void writeJsonl(Path file, List<Problem> problems) throws IOException {
        ObjectMapper mapper = new ObjectMapper();
        try (BufferedWriter writer = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            for (Problem problem : problems) {
                writer.write(mapper.writeValueAsString(problem));
                writer.write('\n');
            }
        }
    }

    private static Problem drawUnseen(Level level, Random random, Set<String> seen) {
        for (int draw = 0; draw < MAX_DRAWS_PER_PROBLEM; draw++) {
            Problem problem = level.draw(random);
            if (seen.add(problem.prompt())) {
                return problem;
            }
        }
        throw new IllegalStateException("level " + level.number() + " ran out of distinct problems after "
                + seen.size() + " prompts; ask for fewer problems");
    }

    private static int uniform(Random random, int low, int high) {
        return low + random.nextInt(high - low + 1);
    }

    private static String step(int left, char operator, int right, int result) {
        return left + String.valueOf(operator) + right + "=" + result + ".";
    }

    private static Problem problem(Level level, String expression, List<String> steps, int answer) {
        String prompt = "Compute " + expression + ".";
        String solution = String.join(" ", steps) + " The answer is \\boxed{" + answer + "}.";
        return new Problem(prompt, Integer.toString(answer), level.number(), solution);
    }
}
