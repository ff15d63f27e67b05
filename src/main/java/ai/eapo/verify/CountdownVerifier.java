package ai.eapo.verify;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Checks a Countdown answer (see {@link ai.eapo.data.CountdownTask}) against a reference {@code "24 from 3,5,8"}:
 * every given number used exactly once, the arithmetic right, the value the target. The final answer is the last
 * {@code \boxed{}}. A boxed expression ({@code \boxed{(8-5)*8}}) is checked by itself: its numbers must be the
 * given ones, each once, and its exact value the target. A boxed number is checked through the response's steps
 * ({@code 8-5=3. 3*8=24.}): each step combines two values still available (the given numbers, then the results
 * of earlier steps), its result is right and whole, all numbers end up used, and the last result is both the
 * target and the boxed number. Every wrong answer says why.
 */
public final class CountdownVerifier implements AnswerChecker {

    private static final Pattern REFERENCE = Pattern.compile("\\s*(\\d+)\\s+from\\s+(\\d+(?:\\s*,\\s*\\d+)*)\\s*");
    private static final Pattern STEP = Pattern.compile("(\\d+)\\s*([-+*/×÷])\\s*(\\d+)\\s*=\\s*(\\d+)");
    private static final Pattern WHOLE_NUMBER = Pattern.compile("\\d+");
    private final VerifierOptions options;
    private final LatexNormalizer normalizer = new LatexNormalizer();

    public CountdownVerifier(VerifierOptions options) {
        this.options = options;
    }

    /** A Countdown problem: its target and numbers. */
    record Problem(BigInteger target, List<BigInteger> numbers) {
        static Problem parse(String reference) {
            Matcher m = REFERENCE.matcher(reference == null ? "" : reference);
            if (!m.matches()) {
                throw new IllegalArgumentException("a Countdown reference reads \"TARGET from N1,N2,...\", got \""
                        + reference + "\"");
            }
            List<BigInteger> numbers = new ArrayList<>();
            for (String n : m.group(2).split(",")) {
                numbers.add(new BigInteger(n.strip()));
            }
            return new Problem(new BigInteger(m.group(1)), numbers);
        }
    }

    @Override
    public Verdict verify(String response, String reference) {
        Problem problem;
        try {
            problem = Problem.parse(reference);
        } catch (IllegalArgumentException e) {
            return Verdict.wrong(null, ExtractionRule.NONE, e.getMessage());
        }
        if (response == null) {
            return Verdict.wrong(null, ExtractionRule.NONE, "missing response");
        }
        if (response.length() > options.maxResponseChars()) {
            return Verdict.wrong(null, ExtractionRule.NONE, "response longer than " + options.maxResponseChars());
        }
        String boxed = AnswerExtractor.lastBoxedGroup(response);
        if (boxed == null) {
            return Verdict.wrong(null, ExtractionRule.NONE, "no \\boxed{} answer");
        }
        String answer = boxed.strip();
        String why = WHOLE_NUMBER.matcher(answer).matches()
                ? checkSteps(response.substring(0, response.lastIndexOf("\\boxed")), new BigInteger(answer), problem)
                : checkExpression(answer, problem);
        return why == null ? Verdict.right(answer, ExtractionRule.BOXED, "reaches " + problem.target() + " with "
                + join(problem.numbers()) + ", each once")
                : Verdict.wrong(answer, ExtractionRule.BOXED, why);
    }

    /** Null when the steps before the boxed {@code answer} solve {@code problem}; else why not. */
    private static String checkSteps(String steps, BigInteger answer, Problem problem) {
        List<BigInteger> available = new ArrayList<>(problem.numbers());
        Matcher m = STEP.matcher(steps);
        int count = 0;
        BigInteger last = null;
        while (m.find()) {
            count++;
            BigInteger a = new BigInteger(m.group(1));
            BigInteger b = new BigInteger(m.group(3));
            String op = m.group(2);
            BigInteger stated = new BigInteger(m.group(4));
            String step = "step " + count + " (" + m.group() + ")";
            if (!available.remove(a)) {
                return step + ": " + a + " is not available (left: " + join(available) + ")";
            }
            if (!available.remove(b)) {
                return step + ": " + b + " is not available (left: " + join(available) + ")";
            }
            Optional<BigInteger> value = apply(a, op, b);
            if (value.isEmpty()) {
                return step + ": " + a + op + b + " is not a whole number";
            }
            if (!value.get().equals(stated)) {
                return step + ": " + a + op + b + " is " + value.get() + ", not " + stated;
            }
            available.add(stated);
            last = stated;
        }
        if (count == 0) {
            return "no steps (a op b=c) before the boxed " + answer + ", and the box holds no expression";
        }
        if (available.size() > 1) {
            return "not every number is used: " + join(available) + " left";
        }
        if (!last.equals(problem.target())) {
            return "the steps reach " + last + ", not the target " + problem.target();
        }
        if (!answer.equals(last)) {
            return "boxed " + answer + " but the steps reach " + last;
        }
        return null;
    }

    /** Null when the expression {@code answer} solves {@code problem}; else why not. */
    private String checkExpression(String answer, Problem problem) {
        MathNode node;
        CheckBudget budget = new CheckBudget(options.timeoutMillis(), options.maxNestingDepth());
        try {
            node = MathParser.parse(normalizer.normalize(answer).text(), budget);
        } catch (MathSyntaxException | CheckAbortedException e) {
            return "the boxed expression does not parse: " + e.getMessage();
        }
        List<BigInteger> used = new ArrayList<>();
        String unsupported = collectNumbers(node, used);
        if (unsupported != null) {
            return "the boxed expression uses " + unsupported + "; only numbers, + - * / and parentheses count";
        }
        List<BigInteger> left = new ArrayList<>(problem.numbers());
        for (BigInteger n : used) {
            if (!left.remove(n)) {
                return "the expression uses " + n + " more often than given (" + join(problem.numbers()) + ")";
            }
        }
        if (!left.isEmpty()) {
            return "not every number is used: " + join(left) + " left";
        }
        Optional<BigRational> value = new ExactEvaluator(options.maxExactBits(), options.maxExactFactorial(), budget)
                .evaluate(node);
        if (value.isEmpty()) {
            return "the boxed expression has no exact value (division by zero?)";
        }
        BigRational target = BigRational.of(problem.target().longValueExact());
        return value.get().equals(target) ? null
                : "the expression is " + value.get() + ", not the target " + problem.target();
    }

    /** Adds the integer leaves of {@code node} to {@code into}; returns what is not allowed, or null. */
    private static String collectNumbers(MathNode node, List<BigInteger> into) {
        if (node instanceof MathNode.Num n) {
            try {
                into.add(n.value().toBigIntegerExact());
                return null;
            } catch (ArithmeticException e) {
                return "the non-integer " + n.value();
            }
        }
        List<MathNode> children;
        if (node instanceof MathNode.Sum s) {
            children = s.terms();
        } else if (node instanceof MathNode.Product p) {
            children = p.factors();
        } else if (node instanceof MathNode.Neg n) {
            children = List.of(n.operand());
        } else if (node instanceof MathNode.Quotient q) {
            children = List.of(q.numerator(), q.denominator());
        } else {
            return node.getClass().getSimpleName().toLowerCase(java.util.Locale.ROOT);
        }
        for (MathNode child : children) {
            String bad = collectNumbers(child, into);
            if (bad != null) {
                return bad;
            }
        }
        return null;
    }

    private static Optional<BigInteger> apply(BigInteger a, String op, BigInteger b) {
        return switch (op) {
            case "+" -> Optional.of(a.add(b));
            case "-" -> a.compareTo(b) >= 0 ? Optional.of(a.subtract(b)) : Optional.empty();
            case "*", "×" -> Optional.of(a.multiply(b));
            default -> b.signum() != 0 && a.mod(b).signum() == 0 ? Optional.of(a.divide(b)) : Optional.empty();
        };
    }

    private static String join(List<BigInteger> values) {
        return values.isEmpty() ? "nothing" : values.stream().map(String::valueOf).collect(Collectors.joining(" "));
    }
}
