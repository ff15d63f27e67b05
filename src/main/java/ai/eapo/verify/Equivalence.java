package ai.eapo.verify;

import ai.eapo.verify.MathNode.Const;
import ai.eapo.verify.MathNode.Constant;
import ai.eapo.verify.MathNode.Items;
import ai.eapo.verify.MathNode.Matrix;
import ai.eapo.verify.MathNode.Neg;
import ai.eapo.verify.MathNode.RelOp;
import ai.eapo.verify.MathNode.Relation;
import ai.eapo.verify.MathNode.SetOf;
import ai.eapo.verify.MathNode.Sum;
import ai.eapo.verify.MathNode.Sym;
import ai.eapo.verify.MathNode.Tuple;
import ai.eapo.verify.MathNode.Union;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

/**
 * Decides whether two parsed answers denote the same mathematical object. Structures are compared part by part
 * (tuples and intervals in order with their brackets, sets and answer lists in any order); scalars exactly as
 * rationals when possible, otherwise by floating evaluation, at random points when variables occur. One instance
 * serves one check (it owns that check's budget and random source).
 */
final class Equivalence {

    /** Result: {@code method} names the comparison that matched, or why nothing did. */
    record Match(boolean equal, String method) {
        static Match no(String why) {
            return new Match(false, why);
        }
    }

    /** Sample variables in 0.5..2.5 in magnitude: away from 0 and 1, where distinct expressions often agree. */
    private static final double SAMPLE_LOW = 0.5;
    private static final double SAMPLE_SPAN = 2.0;
    /** Samples may be undefined (log of a negative...); try this many times the wanted number of points. */
    private static final int SAMPLE_ATTEMPTS_FACTOR = 3;
    /** Below this a value counts as zero when comparing equations up to a factor. */
    private static final double NEAR_ZERO = 1e-12;
    /** The Qwen2.5-Math grader compares matrices after rounding entries to three decimals. */
    private static final double MATRIX_ROUNDING = 1000;

    private final VerifierOptions options;
    private final CheckBudget budget;
    private final ExactEvaluator exact;
    private final NumericEvaluator numeric;
    private final ComplexEvaluator complex;

    Equivalence(VerifierOptions options, CheckBudget budget) {
        this.options = options;
        this.budget = budget;
        this.exact = new ExactEvaluator(options.maxExactBits(), options.maxExactFactorial(), budget);
        this.numeric = new NumericEvaluator(budget);
        this.complex = new ComplexEvaluator(budget, numeric);
    }

    Match compare(MathNode gold, MathNode pred) {
        return compare(gold, pred, 0);
    }

    private Match compare(MathNode gold, MathNode pred, int depth) {
        budget.enter(depth);
        int d = depth + 1;
        gold = expandPlusMinus(gold);
        pred = expandPlusMinus(pred);
        if (gold instanceof Relation g && pred instanceof Relation p) {
            return relations(g, p, d);
        }
        if (gold instanceof Relation g) {
            MathNode value = relationValue(g);
            return value == null ? Match.no("relation vs value") : compare(value, pred, d);
        }
        if (pred instanceof Relation p) {
            MathNode value = relationValue(p);
            return value == null ? Match.no("value vs relation") : compare(gold, value, d);
        }
        if (isStructure(gold) || isStructure(pred)) {
            return structures(gold, pred, d);
        }
        return scalars(gold, pred);
    }

    private MathNode expandPlusMinus(MathNode node) {
        if (isStructure(node) || node instanceof Relation) {
            return node;
        }
        int count = NodeFacts.of(node, budget).plusMinusCount();
        return count == 0 ? node : new Items(PlusMinusExpander.expand(node, count));
    }

    private static boolean isStructure(MathNode n) {
        return n instanceof Tuple || n instanceof SetOf || n instanceof Items || n instanceof Matrix || n instanceof Union;
    }

    // ---- structures

    private Match structures(MathNode g, MathNode p, int d) {
        if (g instanceof Tuple tg && p instanceof Tuple tp) {
            if (tg.open() != tp.open() || tg.close() != tp.close()) {
                return Match.no("bracket types differ " + tg.open() + tg.close() + " vs " + tp.open() + tp.close());
            }
            return ordered(tg.items(), tp.items(), d, "tuple/interval");
        }
        if (g instanceof Matrix mg && p instanceof Matrix mp) {
            if (mg.rows().size() != mp.rows().size()) {
                return Match.no("matrix shapes differ");
            }
            return matrixEntries(flatten(mg), flatten(mp), d);
        }
        if (g instanceof Matrix mg && isVector(mg) && p instanceof Tuple tp) {
            return ordered(flatten(mg), tp.items(), d, "vector");
        }
        if (p instanceof Matrix mp && isVector(mp) && g instanceof Tuple tg) {
            return ordered(tg.items(), flatten(mp), d, "vector");
        }
        if (g instanceof Union ug && p instanceof Union up) {
            return unordered(ug.parts(), up.parts(), d, "union");
        }
        if (isUnordered(g) && isUnordered(p)) {
            return unordered(elements(g), elements(p), d, "set");
        }
        // a tuple against a set or a bare list: the graders compare in written order, (1,3) = {1,3} but not {3,1}
        if (g instanceof Tuple tg && tg.open() == '(' && isUnordered(p)) {
            return ordered(tg.items(), elements(p), d, "tuple vs list");
        }
        if (p instanceof Tuple tp && tp.open() == '(' && isUnordered(g)) {
            return ordered(elements(g), tp.items(), d, "list vs tuple");
        }
        if (isUnordered(g) && elements(g).size() == 1 && !isStructure(p)) {
            return compare(elements(g).get(0), p, d);
        }
        if (isUnordered(p) && elements(p).size() == 1 && !isStructure(g)) {
            return compare(g, elements(p).get(0), d);
        }
        return Match.no("different kinds of answer");
    }

    private static boolean isUnordered(MathNode n) {
        return n instanceof SetOf || n instanceof Items;
    }

    private static List<MathNode> elements(MathNode n) {
        return n instanceof SetOf s ? s.items() : ((Items) n).items();
    }

    private static boolean isVector(Matrix m) {
        return m.rows().size() == 1 || m.rows().get(0).size() == 1;
    }

    private static List<MathNode> flatten(Matrix m) {
        List<MathNode> all = new ArrayList<>();
        for (List<MathNode> row : m.rows()) {
            all.addAll(row);
        }
        return all;
    }

    private Match ordered(List<MathNode> g, List<MathNode> p, int d, String what) {
        if (g.size() != p.size()) {
            return Match.no(what + " sizes differ " + g.size() + " vs " + p.size());
        }
        for (int i = 0; i < g.size(); i++) {
            Match m = compare(g.get(i), p.get(i), d);
            if (!m.equal()) {
                return Match.no(what + " element " + (i + 1) + ": " + m.method());
            }
        }
        return new Match(true, what + " equal element by element");
    }

    /**
     * Matrices entry by entry; a written decimal entry also matches when both round to the same three decimals,
     * as the Qwen2.5-Math grader rounds matrix entries (0.290243 matches 0.29).
     */
    private Match matrixEntries(List<MathNode> g, List<MathNode> p, int d) {
        if (g.size() != p.size()) {
            return Match.no("matrix sizes differ " + g.size() + " vs " + p.size());
        }
        for (int i = 0; i < g.size(); i++) {
            if (!compare(g.get(i), p.get(i), d).equal() && !sameToThreeDecimals(g.get(i), p.get(i))) {
                return Match.no("matrix entry " + (i + 1) + " differs");
            }
        }
        return new Match(true, "matrix equal entry by entry");
    }

    private boolean sameToThreeDecimals(MathNode g, MathNode p) {
        NodeFacts fg = NodeFacts.of(g, budget);
        NodeFacts fp = NodeFacts.of(p, budget);
        if (!(fg.decimal() || fp.decimal()) || isStructure(g) || isStructure(p) || g instanceof Relation
                || p instanceof Relation || !fg.variables().isEmpty() || !fp.variables().isEmpty()) {
            return false;
        }
        double a = numeric.evaluate(g, Map.of());
        double b = numeric.evaluate(p, Map.of());
        return Double.isFinite(a) && Double.isFinite(b)
                && Math.round(a * MATRIX_ROUNDING) == Math.round(b * MATRIX_ROUNDING);
    }

    /** Every element of each side has an equal element on the other side (duplicates do not matter). */
    private Match unordered(List<MathNode> g, List<MathNode> p, int d, String what) {
        if (!covers(g, p, d)) {
            return Match.no(what + ": a reference element is missing");
        }
        if (!covers(p, g, d)) {
            return Match.no(what + ": an extra element in the answer");
        }
        return new Match(true, what + " equal in any order");
    }

    private boolean covers(List<MathNode> from, List<MathNode> in, int d) {
        for (MathNode x : from) {
            boolean found = false;
            for (MathNode y : in) {
                if (compare(x, y, d).equal()) {
                    found = true;
                    break;
                }
            }
            if (!found) {
                return false;
            }
        }
        return true;
    }

    // ---- relations

    /** "x = 5" stands for 5, "5 = x" too, "x \in [0,1]" for the interval, "x > 2" for (2, oo). */
    private MathNode relationValue(Relation r) {
        List<MathNode> operands = r.operands();
        MathNode last = operands.get(operands.size() - 1);
        if (r.ops().stream().allMatch(op -> op == RelOp.IN)) {
            return last;
        }
        if (r.ops().size() == 1 && r.ops().get(0) == RelOp.EQ) {
            // "k = 1", "f(x) = 1", "|AB| = 1" and "1/2 = 10/9" name a value; "2x + z = 1" is an equation, not 1
            MathNode first = operands.get(0);
            if (isName(first)) {
                return last;
            }
            if (isName(last)) {
                return first;
            }
            boolean numeric = NodeFacts.of(first, budget).variables().isEmpty()
                    && NodeFacts.of(last, budget).variables().isEmpty();
            return numeric ? last : null; // "7 = 11a + c" is an equation, not the expression 11a + c
        }
        if (r.ops().stream().allMatch(op -> op == RelOp.EQ)) {
            return operands.get(0) instanceof Sym || !(last instanceof Sym) ? last : operands.get(0);
        }
        MathNode absoluteBounds = AbsoluteBounds.asSet(r);
        return absoluteBounds != null ? absoluteBounds : asInterval(r);
    }

    /**
     * Whether a side of an equation only names a quantity: a symbol, or symbols combined without numbers or sums
     * ({@code x_1}, {@code f(x)}, {@code |AB|}, {@code A:B}, {@code (p,q)}). math-verify reads such equations as
     * their value.
     */
    private static boolean isName(MathNode n) {
        return isVariableLike(n) || n instanceof MathNode.Func f && f.name().equals("abs") && isName(f.argument())
                || n instanceof Tuple t && t.open() == '(' && t.items().stream().allMatch(Equivalence::isName);
    }

    /** A symbol or a product / quotient of symbols such as {@code f(x)}: what an inequality may bound. */
    private static boolean isVariableLike(MathNode n) {
        if (n instanceof Sym) {
            return true;
        }
        if (n instanceof MathNode.Product p) {
            return p.factors().stream().allMatch(Equivalence::isVariableLike);
        }
        return n instanceof MathNode.Quotient q && isVariableLike(q.numerator()) && isVariableLike(q.denominator());
    }

    private Match relations(Relation g, Relation p, int d) {
        if (g.ops().size() == 1 && p.ops().size() == 1) {
            RelOp og = g.ops().get(0);
            RelOp op = p.ops().get(0);
            if (og == RelOp.EQ && op == RelOp.EQ) {
                return proportional(difference(g), difference(p), false, "equation");
            }
            if (isInequality(og) && isInequality(op)) {
                if (isStrict(og) != isStrict(op)) {
                    return Match.no("strict vs non-strict inequality");
                }
                return proportional(lessThanZeroForm(g), lessThanZeroForm(p), true, "inequality");
            }
        }
        MathNode vg = relationValue(g);
        MathNode vp = relationValue(p);
        boolean equalityChains = allEqualities(g) && allEqualities(p);
        if (equalityChains && vg != null && vp != null) {
            // "x = 5 + 6 = 11" against "x = 11": the last value of each chain decides
            return compare(vg, vp, d);
        }
        if (vg != null && vp != null && (g.ops().contains(RelOp.IN) || p.ops().contains(RelOp.IN)
                || vg instanceof Tuple && vp instanceof Tuple)) {
            return compare(vg, vp, d);
        }
        if (!g.ops().equals(p.ops())) {
            return Match.no("different relations");
        }
        return ordered(g.operands(), p.operands(), d, "relation chain");
    }

    private static boolean allEqualities(Relation r) {
        return r.ops().stream().allMatch(op -> op == RelOp.EQ);
    }

    private static boolean isInequality(RelOp op) {
        return op == RelOp.LT || op == RelOp.LE || op == RelOp.GT || op == RelOp.GE;
    }

    private static boolean isStrict(RelOp op) {
        return op == RelOp.LT || op == RelOp.GT;
    }

    private static MathNode difference(Relation r) {
        return new Sum(List.of(r.operands().get(0), new Neg(r.operands().get(1))));
    }

    /** a < b and b > a both become a - b (< 0). */
    private static MathNode lessThanZeroForm(Relation r) {
        RelOp op = r.ops().get(0);
        MathNode a = r.operands().get(0);
        MathNode b = r.operands().get(1);
        return op == RelOp.LT || op == RelOp.LE ? new Sum(List.of(a, new Neg(b))) : new Sum(List.of(b, new Neg(a)));
    }

    /** A one-variable inequality or chain {@code a <= x < b} as an interval; null when it is not one. */
    private static Tuple asInterval(Relation r) {
        List<MathNode> o = r.operands();
        List<RelOp> ops = r.ops();
        if (!ops.stream().allMatch(Equivalence::isInequality)) {
            return null;
        }
        Const inf = new Const(Constant.INFINITY);
        Neg minusInf = new Neg(inf);
        if (ops.size() == 1) {
            RelOp op = ops.get(0);
            boolean varLeft = isVariableLike(o.get(0));
            if (!varLeft && !isVariableLike(o.get(1))) {
                return null;
            }
            MathNode bound = varLeft ? o.get(1) : o.get(0);
            boolean upper = varLeft == (op == RelOp.LT || op == RelOp.LE);
            char bracket = isStrict(op) ? (upper ? ')' : '(') : (upper ? ']' : '[');
            return upper ? new Tuple(List.of(minusInf, bound), '(', bracket) : new Tuple(List.of(bound, inf), bracket, ')');
        }
        if (ops.size() == 2 && isVariableLike(o.get(1))) {
            boolean ascending = ops.stream().allMatch(op -> op == RelOp.LT || op == RelOp.LE);
            boolean descending = ops.stream().allMatch(op -> op == RelOp.GT || op == RelOp.GE);
            if (!ascending && !descending) {
                return null;
            }
            RelOp lowOp = ascending ? ops.get(0) : ops.get(1);
            RelOp highOp = ascending ? ops.get(1) : ops.get(0);
            MathNode low = ascending ? o.get(0) : o.get(2);
            MathNode high = ascending ? o.get(2) : o.get(0);
            return new Tuple(List.of(low, high), isStrict(lowOp) ? '(' : '[', isStrict(highOp) ? ')' : ']');
        }
        return null;
    }

    /** f = c * g for a constant c (positive when {@code positive}): same equation or inequality, rescaled. */
    private Match proportional(MathNode f, MathNode g, boolean positive, String what) {
        boolean approx = NodeFacts.of(f, budget).decimal() || NodeFacts.of(g, budget).decimal();
        List<Map<String, Double>> points = samplePoints(variablesOf(f, g));
        double ratio = Double.NaN;
        int usable = 0;
        for (Map<String, Double> point : points) {
            double fv = numeric.evaluate(f, point);
            double gv = numeric.evaluate(g, point);
            if (!Double.isFinite(fv) || !Double.isFinite(gv)) {
                continue;
            }
            usable++;
            if (Double.isNaN(ratio) && Math.abs(gv) > NEAR_ZERO) {
                ratio = fv / gv;
                if (ratio == 0 || (positive && ratio < 0)) {
                    return Match.no(what + " sides not proportional");
                }
            }
            double expected = Double.isNaN(ratio) ? 0 : ratio * gv;
            if (!close(fv, expected, approx)) {
                return Match.no(what + " sides not proportional");
            }
        }
        return usable == 0 ? Match.no(what + " undefined at sample points")
                : new Match(true, what + " equal up to a constant factor");
    }

    // ---- scalars

    private Match scalars(MathNode g, MathNode p) {
        NodeFacts fg = NodeFacts.of(g, budget);
        NodeFacts fp = NodeFacts.of(p, budget);
        boolean approx = fg.decimal() || fp.decimal();
        Optional<BigRational> eg = exact.evaluate(g);
        Optional<BigRational> ep = eg.isPresent() ? exact.evaluate(p) : Optional.empty();
        if (eg.isPresent() && ep.isPresent()) {
            if (eg.get().equals(ep.get())) {
                return new Match(true, "exact rational " + eg.get());
            }
            if (!approx) {
                return Match.no("exact rationals differ " + eg.get() + " vs " + ep.get());
            }
        }
        Set<String> vars = new TreeSet<>(fg.variables());
        vars.addAll(fp.variables());
        if (fg.imaginary() || fp.imaginary()) {
            return complexAtPoints(g, p, vars, approx);
        }
        if (vars.isEmpty()) {
            double a = numeric.evaluate(g, Map.of());
            double b = numeric.evaluate(p, Map.of());
            if (Double.isInfinite(a) || Double.isInfinite(b)) {
                // only a written \infty matches \infty; overflow of huge numbers decides nothing
                boolean same = a == b && fg.infinity() && fp.infinity();
                return same ? new Match(true, "both infinite") : Match.no("not finite: " + a + " vs " + b);
            }
            if (Double.isNaN(a) || Double.isNaN(b)) {
                return Match.no("undefined value");
            }
            return close(a, b, approx) ? new Match(true, "numeric " + a + " ~ " + b)
                    : Match.no("numbers differ " + a + " vs " + b);
        }
        return atRandomPoints(g, p, vars, approx);
    }

    private Match atRandomPoints(MathNode g, MathNode p, Set<String> vars, boolean approx) {
        int agreed = 0;
        for (Map<String, Double> point : samplePoints(vars)) {
            double a = numeric.evaluate(g, point);
            double b = numeric.evaluate(p, point);
            if (!Double.isFinite(a) || !Double.isFinite(b)) {
                continue; // outside one side's domain; other points decide
            }
            if (!close(a, b, approx)) {
                return Match.no("expressions differ at " + point + ": " + a + " vs " + b);
            }
            agreed++;
        }
        return agreed * 2 >= options.evaluationPoints() ? new Match(true, "agree at " + agreed + " random points")
                : Match.no("too few points where both are defined");
    }

    /** Answers with i: compared as complex values (at random real points when variables occur). */
    private Match complexAtPoints(MathNode g, MathNode p, Set<String> vars, boolean approx) {
        int agreed = 0;
        int wanted = vars.isEmpty() ? 1 : options.evaluationPoints();
        for (Map<String, Double> point : samplePoints(vars)) {
            ComplexEvaluator.Complex a = complex.evaluate(g, point);
            ComplexEvaluator.Complex b = complex.evaluate(p, point);
            if (!a.isFinite() || !b.isFinite()) {
                continue;
            }
            double scale = Math.max(a.modulus(), b.modulus());
            if (!withinTolerance(a.minus(b).modulus(), scale, approx)) {
                return Match.no("complex values differ at " + point + ": " + a + " vs " + b);
            }
            agreed++;
        }
        return agreed * 2 >= wanted ? new Match(true, "complex values agree at " + agreed + " points")
                : Match.no("complex values undefined");
    }

    /** Whether a difference of size {@code diff} is rounding noise (or within tolerance) for values of size {@code scale}. */
    private boolean withinTolerance(double diff, double scale, boolean approx) {
        if (approx) {
            return diff <= options.relativeTolerance() * scale || diff <= NEAR_ZERO;
        }
        return diff <= options.exactFormTolerance() * Math.max(1.0, scale);
    }

    private Set<String> variablesOf(MathNode f, MathNode g) {
        Set<String> vars = new TreeSet<>(NodeFacts.of(f, budget).variables());
        vars.addAll(NodeFacts.of(g, budget).variables());
        return vars;
    }

    /** Deterministic points: same seed for every check, so a verdict never depends on luck or thread. */
    private List<Map<String, Double>> samplePoints(Set<String> vars) {
        Random random = new Random(options.randomSeed());
        int wanted = vars.isEmpty() ? 1 : options.evaluationPoints();
        List<Map<String, Double>> points = new ArrayList<>();
        for (int i = 0; i < wanted * SAMPLE_ATTEMPTS_FACTOR; i++) {
            Map<String, Double> point = new HashMap<>();
            for (String v : vars) {
                double magnitude = SAMPLE_LOW + SAMPLE_SPAN * random.nextDouble();
                // alternate signs so that x and |x|, or sqrt(x^2) and x, are told apart
                point.put(v, i % 2 == 0 ? magnitude : -magnitude);
            }
            points.add(point);
        }
        return points;
    }

    private boolean close(double a, double b, boolean approx) {
        // exact forms evaluated in floating point: only rounding noise is forgiven (absolute below 1)
        return withinTolerance(Math.abs(a - b), Math.max(Math.abs(a), Math.abs(b)), approx);
    }
}
