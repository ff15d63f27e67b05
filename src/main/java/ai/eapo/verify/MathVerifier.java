package ai.eapo.verify;

import java.math.BigDecimal;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reward checker for math answers: extracts the final answer from a response and decides whether it equals the
 * reference. Never throws and never hangs: every check is bounded in time, input size and nesting depth, and any
 * failure becomes a 0.0 verdict with its reason. Immutable, so one instance can serve many threads.
 */
public final class MathVerifier implements AnswerChecker {

    private static final Pattern CHOICE_REFERENCE = Pattern.compile("\\(?([A-E])\\)?");
    private static final Pattern CHOICE_LETTER = Pattern.compile("(?<![A-Za-z\\\\])([A-E])(?![A-Za-z])");
    private static final BigDecimal HUNDRED = BigDecimal.valueOf(100);

    private final VerifierOptions options;
    private final AnswerExtractor extractor;
    private final LatexNormalizer normalizer = new LatexNormalizer();

    public MathVerifier(VerifierOptions options) {
        this.options = options;
        this.extractor = new AnswerExtractor(options.fallbackToLastNumber());
    }

    public MathVerifier() {
        this(VerifierOptions.defaults());
    }

    public VerifierOptions options() {
        return options;
    }

    /** Checks a whole model response: extracts its final answer first. */
    public Verdict verify(String response, String gold) {
        if (response == null || gold == null) {
            return Verdict.wrong(null, ExtractionRule.NONE, "missing response or reference");
        }
        if (response.length() > options.maxResponseChars()) {
            return Verdict.wrong(null, ExtractionRule.NONE, "response longer than " + options.maxResponseChars());
        }
        Extraction e = guarded(() -> extractor.extract(response));
        if (e == null || !e.found()) {
            return Verdict.wrong(null, ExtractionRule.NONE, "no answer found in the response");
        }
        return compare(e.text(), e.rule(), gold);
    }

    /** Checks a bare predicted answer (a surrounding {@code \boxed{}} is removed; several boxes joined as a list). */
    public Verdict verifyAnswer(String answer, String gold) {
        if (answer == null || gold == null) {
            return Verdict.wrong(null, ExtractionRule.NONE, "missing answer or reference");
        }
        String boxed = answer.length() <= options.maxResponseChars() ? guarded(() -> AnswerExtractor.lastBoxedGroup(answer)) : null;
        return compare(boxed != null ? boxed : answer.strip(), ExtractionRule.BARE_ANSWER, gold);
    }

    private Verdict compare(String predicted, ExtractionRule rule, String goldText) {
        if (predicted.length() > options.maxAnswerChars()) {
            return Verdict.wrong(predicted, rule, "answer longer than " + options.maxAnswerChars());
        }
        if (goldText.length() > options.maxResponseChars()) {
            return Verdict.wrong(predicted, rule, "reference too long");
        }
        try {
            CheckBudget budget = new CheckBudget(options.timeoutMillis(), options.maxNestingDepth());
            String gold = referenceAnswer(goldText);
            if (gold.length() > options.maxAnswerChars()) {
                return Verdict.wrong(predicted, rule, "reference longer than " + options.maxAnswerChars());
            }
            NormalizedAnswer ng = normalizer.normalize(gold);
            NormalizedAnswer np = normalizer.normalize(predicted);
            String forms = "gold='" + ng.text() + "' pred='" + np.text() + "' rule=" + rule;
            String decision = decide(ng, np, budget);
            boolean correct = decision.startsWith("=");
            return correct ? Verdict.right(predicted, rule, forms + ": " + decision.substring(1))
                    : Verdict.wrong(predicted, rule, forms + ": " + decision);
        } catch (CheckAbortedException | StackOverflowError e) {
            return Verdict.wrong(predicted, rule, "check aborted: " + e.getMessage());
        } catch (RuntimeException e) {
            return Verdict.wrong(predicted, rule, "internal error: " + e);
        }
    }

    /** References may themselves be solutions: take their boxed, #### or "final answer is $X$" answer when present. */
    private static String referenceAnswer(String gold) {
        String boxed = AnswerExtractor.lastBoxedGroup(gold);
        if (boxed != null) {
            return boxed;
        }
        String hashes = AnswerExtractor.afterLastGsm8kMark(gold);
        if (hashes != null) {
            return hashes;
        }
        String statement = AnswerExtractor.finalAnswerStatement(gold);
        return statement != null ? statement : gold;
    }

    /** Returns "=how" when equal, else why not; a string keeps the hot path allocation-light. */
    private String decide(NormalizedAnswer gold, NormalizedAnswer pred, CheckBudget budget) {
        String g = gold.text();
        String p = pred.text();
        if (g.isEmpty() || p.isEmpty()) {
            return "empty answer";
        }
        Matcher choice = CHOICE_REFERENCE.matcher(g);
        if (choice.matches()) {
            String letter = lastChoiceLetter(p);
            return choice.group(1).equals(letter) ? "=multiple-choice letter " + letter
                    : "multiple-choice letter " + letter + " is not " + choice.group(1);
        }
        if (compact(g).equals(compact(p)) && gold.percent() == pred.percent()) {
            return "=normalised strings equal";
        }
        MathNode gn;
        MathNode pn;
        try {
            gn = MathParser.parse(g, budget);
            pn = MathParser.parse(p, budget);
        } catch (MathSyntaxException e) {
            return "strings differ and do not parse: " + e.getMessage();
        }
        Equivalence equivalence = new Equivalence(options, budget);
        Equivalence.Match m = equivalence.compare(gn, pn);
        if (!m.equal() && options.percentAsFraction() && gold.percent() != pred.percent()) {
            Equivalence.Match scaled = gold.percent()
                    ? equivalence.compare(percentOf(gn), pn)
                    : equivalence.compare(gn, percentOf(pn));
            if (scaled.equal()) {
                return "=percent as fraction: " + scaled.method();
            }
        }
        return m.equal() ? "=" + m.method() : m.method();
    }

    private static MathNode percentOf(MathNode n) {
        return new MathNode.Quotient(n, new MathNode.Num(HUNDRED, false));
    }

    private static String lastChoiceLetter(String answer) {
        Matcher m = CHOICE_LETTER.matcher(answer);
        String last = null;
        while (m.find()) {
            last = m.group(1);
        }
        return last;
    }

    private static String compact(String s) {
        return s.replace(" ", "").toLowerCase(Locale.ROOT);
    }

    /** Extraction runs before a budget exists; its scans are linear, so only unexpected errors need catching. */
    private static <T> T guarded(java.util.function.Supplier<T> work) {
        try {
            return work.get();
        } catch (RuntimeException | StackOverflowError e) {
            return null;
        }
    }
}
