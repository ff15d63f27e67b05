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
 * A problem of level n is a chain of n additions or subtractions of a single digit, such as
 * {@code Compute 37+5-8.}; it is solved one step at a time ({@code 37+5=42. 42-8=34.}). Each step is a
 * small fact a tiny model can learn, so held-out problems are reachable, and the chance of a slip grows
 * with the number of steps, which gives RL room to improve the longer chains.
 */
public final class SyntheticMathTask {

    /** Levels run from 1 to this many steps. */
    public static final int LEVELS = 4;
    private static final int MAX_START = 50;
    /** Every intermediate value stays in [0, MAX_VALUE], so numbers have at most two digits. */
    private static final int MAX_VALUE = 99;
    private static final int MAX_OPERAND = 9;
    /** Draws per problem before concluding that a level has run out of prompts. */
    private static final int MAX_DRAWS_PER_PROBLEM = 10_000;

    private SyntheticMathTask() {
    }

    /** One JSONL line: {@code prompt}, reference {@code answer}, difficulty {@code level}, worked {@code solution}. */
    public record Problem(String prompt, String answer, int level, String solution) {
    }

    /** One problem of {@code level} steps. */
    static Problem draw(int level, Random random) {
        int value = uniform(random, 0, MAX_START);
        StringBuilder expression = new StringBuilder().append(value);
        List<String> steps = new ArrayList<>(level);
        for (int i = 0; i < level; i++) {
            int operand = uniform(random, 1, MAX_OPERAND);
            boolean add;
            if (value + operand > MAX_VALUE) {
                add = false;
            } else if (value - operand < 0) {
                add = true;
            } else {
                add = random.nextBoolean();
            }
            int result = add ? value + operand : value - operand;
            char operator = add ? '+' : '-';
            expression.append(operator).append(operand);
            steps.add(value + String.valueOf(operator) + operand + "=" + result + ".");
            value = result;
        }
        String solution = String.join(" ", steps) + " The answer is \\boxed{" + value + "}.";
        return new Problem("Compute " + expression + ".", Integer.toString(value), level, solution);
    }

    /**
     * {@code count} problems from {@code seed}, levels taken in turn so that each level gets an equal
     * share, none of whose prompts is in {@code excludedPrompts}. With {@code distinct} no prompt repeats
     * (a held-out split); without, prompts may repeat (a training split, where level 1 has fewer than a
     * thousand distinct prompts).
     *
     * @throws IllegalStateException if a level has too few distinct unseen prompts left
     */
    public static List<Problem> generate(long seed, int count, Set<String> excludedPrompts, boolean distinct) {
        return generate(seed, count, excludedPrompts, distinct, 1, LEVELS, SyntheticMathTask::draw);
    }

    /** Draws one problem of a level, or null when the draw got stuck (another is drawn then). */
    @FunctionalInterface
    interface Draw {
        Problem draw(int level, Random random);
    }

    /** {@link #generate(long, int, Set, boolean)} for any task: levels {@code first} to {@code last} in turn, by {@code draw}. */
    static List<Problem> generate(long seed, int count, Set<String> excludedPrompts, boolean distinct, int first,
                                  int last, Draw draw) {
        Random random = new Random(seed);
        Set<String> excluded = new HashSet<>(excludedPrompts);
        List<Problem> problems = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            Problem problem = drawUnseen(first + i % (last - first + 1), random, excluded, draw);
            if (distinct) {
                excluded.add(problem.prompt());
            }
            problems.add(problem);
        }
        return problems;
    }

    /**
     * Writes {@code test.jsonl} (from {@code testSeed}) and {@code train.jsonl} (from {@code trainSeed},
     * excluding every test prompt) into {@code directory}.
     */
    public static void writeSplits(Path directory, int trainSize, long trainSeed, int testSize, long testSeed)
            throws IOException {
        writeSplits(directory, trainSize, trainSeed, testSize, testSeed, SyntheticMathTask::generate);
    }

    /** How a task makes problems: as {@link #generate}. */
    @FunctionalInterface
    public interface Generator {
        List<Problem> generate(long seed, int count, Set<String> excludedPrompts, boolean distinct);
    }

    /** {@link #writeSplits(Path, int, long, int, long)} for any task's {@code generator}. */
    static void writeSplits(Path directory, int trainSize, long trainSeed, int testSize, long testSeed,
                            Generator generator) throws IOException {
        if (trainSeed == testSeed) {
            throw new IllegalArgumentException("train and test seeds must differ, both are " + trainSeed);
        }
        List<Problem> test = generator.generate(testSeed, testSize, Set.of(), true);
        Set<String> testPrompts = new HashSet<>();
        test.forEach(problem -> testPrompts.add(problem.prompt()));
        List<Problem> train = generator.generate(trainSeed, trainSize, testPrompts, false);
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

    private static Problem drawUnseen(int level, Random random, Set<String> excluded, Draw draw) {
        for (int attempt = 0; attempt < MAX_DRAWS_PER_PROBLEM; attempt++) {
            Problem problem = draw.draw(level, random);
            if (problem != null && !excluded.contains(problem.prompt())) {
                return problem;
            }
        }
        throw new IllegalStateException("level " + level + " ran out of unseen problems after "
                + excluded.size() + " excluded prompts; ask for fewer problems");
    }

    private static int uniform(Random random, int low, int high) {
        return low + random.nextInt(high - low + 1);
    }
}
