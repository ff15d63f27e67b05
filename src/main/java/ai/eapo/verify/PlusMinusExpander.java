package ai.eapo.verify;

import ai.eapo.verify.MathNode.Binomial;
import ai.eapo.verify.MathNode.Factorial;
import ai.eapo.verify.MathNode.Func;
import ai.eapo.verify.MathNode.Neg;
import ai.eapo.verify.MathNode.PlusMinus;
import ai.eapo.verify.MathNode.Power;
import ai.eapo.verify.MathNode.Product;
import ai.eapo.verify.MathNode.Quotient;
import ai.eapo.verify.MathNode.Root;
import ai.eapo.verify.MathNode.Sum;
import java.util.ArrayList;
import java.util.List;

/** Turns a scalar with k {@code \pm} signs into its 2^k sign choices, e.g. {@code 1 \pm \sqrt 2} into two values. */
final class PlusMinusExpander {

    /** 2^3 variants is plenty for real answers; more is treated as unsupported. */
    static final int MAX_PLUS_MINUS = 3;

    private PlusMinusExpander() {
    }

    static List<MathNode> expand(MathNode node, int count) {
        if (count > MAX_PLUS_MINUS) {
            throw new MathSyntaxException("too many \\pm signs");
        }
        List<MathNode> variants = new ArrayList<>();
        for (int mask = 0; mask < (1 << count); mask++) {
            variants.add(choose(node, mask, new int[1]));
        }
        return variants;
    }

    /** Rebuilds the tree, picking + or - at the i-th \pm according to bit i of {@code mask}. */
    private static MathNode choose(MathNode n, int mask, int[] seen) {
        if (n instanceof PlusMinus pm) {
            MathNode left = choose(pm.left(), mask, seen);
            boolean minus = ((mask >> seen[0]++) & 1) == 1;
            MathNode right = choose(pm.right(), mask, seen);
            return new Sum(List.of(left, minus ? new Neg(right) : right));
        } else if (n instanceof Sum s) {
            return new Sum(chooseAll(s.terms(), mask, seen));
        } else if (n instanceof Product p) {
            return new Product(chooseAll(p.factors(), mask, seen));
        } else if (n instanceof Neg g) {
            return new Neg(choose(g.operand(), mask, seen));
        } else if (n instanceof Quotient q) {
            return new Quotient(choose(q.numerator(), mask, seen), choose(q.denominator(), mask, seen));
        } else if (n instanceof Power p) {
            return new Power(choose(p.base(), mask, seen), choose(p.exponent(), mask, seen));
        } else if (n instanceof Root r) {
            return new Root(choose(r.radicand(), mask, seen), choose(r.index(), mask, seen));
        } else if (n instanceof Func f) {
            return new Func(f.name(), choose(f.argument(), mask, seen), f.base());
        } else if (n instanceof Factorial f) {
            return new Factorial(choose(f.operand(), mask, seen));
        } else if (n instanceof Binomial b) {
            return new Binomial(choose(b.n(), mask, seen), choose(b.k(), mask, seen));
        }
        return n;
    }

    private static List<MathNode> chooseAll(List<MathNode> nodes, int mask, int[] seen) {
        List<MathNode> out = new ArrayList<>(nodes.size());
        for (MathNode n : nodes) {
            out.add(choose(n, mask, seen));
        }
        return out;
    }
}
