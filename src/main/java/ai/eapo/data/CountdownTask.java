package ai.eapo.data;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The second embedded task, Countdown: reach a target from 3 or 4 small numbers with + - * /, every number used
 * exactly once (TinyZero's rule), one combination per step ({@code 8-5=3. 7*3=21.}), the last result boxed.
 * Unlike the chain of additions, the task has forks: which two numbers to combine next, and how, is a choice
 * among many legal moves of which few reach the target.
 *
 * <p>A problem is made from a uniformly random legal trace: numbers drawn, then at each step one of all legal
 * moves (pair and operation) with equal chance, and the trace's last result is the target. So every problem
 * is solvable, its worked solution is that trace, and a model trained on such solutions sees, at each fork,
 * every legal move about as often as the target allows. A move writes the larger operand first; every value
 * is a whole number in [1, {@value #MAX_VALUE}] (no zero, no negative, exact division), so numbers stay
 * two-digit for a character-level model. The reference answer is {@code "24 from 3,5,8"}:
 * see {@link ai.eapo.verify.CountdownVerifier}.
 */
public final class CountdownTask {

    /** Problems have this many numbers at least and at most (the level). */
    public static final int MIN_NUMBERS = 3;
    public static final int MAX_NUMBERS = 4;
    private static final int MAX_NUMBER = 9;
    /** Every value of a trace stays in [1, MAX_VALUE]. */
    public static final int MAX_VALUE = 99;
    private static final char[] OPERATIONS = {'+', '-', '*', '/'};

    private CountdownTask() {
    }

    /** One combination: {@code left op right = result}, left ≥ right. */
    public record Move(int left, char operation, int right, int result) {
        @Override
        public String toString() {
            return left + String.valueOf(operation) + right + "=" + result + ".";
        }
    }

    /**
     * Every legal move on {@code pool} (a multiset of values), in a fixed order: each pair of positions once
     * (larger value first), each operation whose result is a whole number in [1, MAX_VALUE].
     */
    public static List<Move> legalMoves(List<Integer> pool) {
        List<Move> moves = new ArrayList<>();
        for (int i = 0; i < pool.size(); i++) {
            for (int j = i + 1; j < pool.size(); j++) {
                int a = Math.max(pool.get(i), pool.get(j));
                int b = Math.min(pool.get(i), pool.get(j));
                for (char op : OPERATIONS) {
                    Integer result = apply(a, op, b);
                    if (result != null && result >= 1 && result <= MAX_VALUE) {
                        moves.add(new Move(a, op, b, result));
                    }
                }
            }
        }
        return moves;
    }

    /** a op b as a whole number, or null when it is not one (inexact division, division by zero). */
    public static Integer apply(int a, char op, int b) {
        return switch (op) {
            case '+' -> a + b;
            case '-' -> a - b;
            case '*' -> a * b;
            case '/' -> b != 0 && a % b == 0 ? a / b : null;
            default -> throw new IllegalArgumentException("not an operation: " + op);
        };
    }

    /** The prompt of a problem: {@code Numbers 3 5 8. Target 24.} */
    public static String prompt(List<Integer> numbers, int target) {
        return "Numbers " + numbers.stream().map(String::valueOf).collect(Collectors.joining(" "))
                + ". Target " + target + ".";
    }

    /** The reference answer the verifier reads: {@code 24 from 3,5,8}. */
    public static String reference(List<Integer> numbers, int target) {
        return target + " from " + numbers.stream().map(String::valueOf).collect(Collectors.joining(","));
    }

    /** A worked solution: the moves, then the boxed result. */
    public static String solution(List<Move> moves) {
        return moves.stream().map(Move::toString).collect(Collectors.joining(" "))
                + " The answer is \\boxed{" + moves.get(moves.size() - 1).result() + "}.";
    }

    /** One problem of {@code count} numbers from a uniformly random legal trace, or null if the trace got stuck. */
    static SyntheticMathTask.Problem draw(int count, Random random) {
        List<Integer> numbers = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            numbers.add(1 + random.nextInt(MAX_NUMBER));
        }
        List<Move> moves = randomTrace(numbers, random);
        if (moves == null) {
            return null;
        }
        int target = moves.get(moves.size() - 1).result();
        return new SyntheticMathTask.Problem(prompt(numbers, target), reference(numbers, target), count, solution(moves));
    }

    /** Moves until one value is left, each drawn uniformly among the legal ones; null if none is legal on the way. */
    static List<Move> randomTrace(List<Integer> numbers, Random random) {
        List<Integer> pool = new ArrayList<>(numbers);
        List<Move> moves = new ArrayList<>();
        while (pool.size() > 1) {
            List<Move> legal = legalMoves(pool);
            if (legal.isEmpty()) {
                return null;
            }
            Move move = legal.get(random.nextInt(legal.size()));
            pool.remove(Integer.valueOf(move.left()));
            pool.remove(Integer.valueOf(move.right()));
            pool.add(move.result());
            moves.add(move);
        }
        return moves;
    }

    /**
     * {@code count} problems from {@code seed}, 3 and 4 numbers in turn, none of whose prompts is in
     * {@code excludedPrompts}; with {@code distinct} no prompt repeats (a held-out split).
     */
    public static List<SyntheticMathTask.Problem> generate(long seed, int count, Set<String> excludedPrompts,
                                                          boolean distinct) {
        return SyntheticMathTask.generate(seed, count, excludedPrompts, distinct, MIN_NUMBERS, MAX_NUMBERS,
                CountdownTask::draw);
    }

    /** {@code test.jsonl} from {@code testSeed} and {@code train.jsonl} from {@code trainSeed} (no test prompt in it). */
    public static void writeSplits(Path directory, int trainSize, long trainSeed, int testSize, long testSeed)
            throws IOException {
        SyntheticMathTask.writeSplits(directory, trainSize, trainSeed, testSize, testSeed, CountdownTask::generate);
    }
}
