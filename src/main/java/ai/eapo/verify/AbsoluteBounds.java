package ai.eapo.verify;

import ai.eapo.verify.MathNode.Const;
import ai.eapo.verify.MathNode.Constant;
import ai.eapo.verify.MathNode.Func;
import ai.eapo.verify.MathNode.Neg;
import ai.eapo.verify.MathNode.RelOp;
import ai.eapo.verify.MathNode.Relation;
import ai.eapo.verify.MathNode.Sym;
import ai.eapo.verify.MathNode.Tuple;
import ai.eapo.verify.MathNode.Union;
import java.util.List;

/**
 * Inequalities on an absolute value as the sets they describe: {@code |x| < 2} is (-2, 2), {@code |x| > 2} is
 * (-oo, -2) U (2, oo), {@code 1 <= |z| <= 3/2} is [-3/2, -1] U [1, 3/2]. Bounds are taken as non-negative, as
 * answers write them; sympy-based graders solve such inequalities into the same sets.
 */
final class AbsoluteBounds {

    private AbsoluteBounds() {
    }

    /** The set a relation on {@code |variable|} describes, or null when the relation is not of that form. */
    static MathNode asSet(Relation r) {
        List<MathNode> o = r.operands();
        List<RelOp> ops = r.ops();
        if (ops.size() == 1) {
            RelOp op = ops.get(0);
            if (isAbsOfSymbol(o.get(0))) {
                return oneSided(o.get(1), op == RelOp.LT || op == RelOp.LE, isStrict(op), op);
            }
            if (isAbsOfSymbol(o.get(1))) {
                return oneSided(o.get(0), op == RelOp.GT || op == RelOp.GE, isStrict(op), op);
            }
            return null;
        }
        if (ops.size() == 2 && isAbsOfSymbol(o.get(1))) {
            boolean ascending = ops.stream().allMatch(op -> op == RelOp.LT || op == RelOp.LE);
            boolean descending = ops.stream().allMatch(op -> op == RelOp.GT || op == RelOp.GE);
            if (!ascending && !descending) {
                return null;
            }
            MathNode low = ascending ? o.get(0) : o.get(2);
            MathNode high = ascending ? o.get(2) : o.get(0);
            boolean lowStrict = isStrict(ascending ? ops.get(0) : ops.get(1));
            boolean highStrict = isStrict(ascending ? ops.get(1) : ops.get(0));
            // low <= |x| <= high: [-high, -low] U [low, high]
            Tuple negative = new Tuple(List.of(new Neg(high), new Neg(low)), highStrict ? '(' : '[', lowStrict ? ')' : ']');
            Tuple positive = new Tuple(List.of(low, high), lowStrict ? '(' : '[', highStrict ? ')' : ']');
            return new Union(List.of(negative, positive));
        }
        return null;
    }

    /** {@code |x| < a} (below) is (-a, a); {@code |x| > a} is (-oo, -a) U (a, oo). */
    private static MathNode oneSided(MathNode bound, boolean below, boolean strict, RelOp op) {
        if (op != RelOp.LT && op != RelOp.LE && op != RelOp.GT && op != RelOp.GE) {
            return null;
        }
        if (below) {
            return new Tuple(List.of(new Neg(bound), bound), strict ? '(' : '[', strict ? ')' : ']');
        }
        Const inf = new Const(Constant.INFINITY);
        return new Union(List.of(new Tuple(List.of(new Neg(inf), new Neg(bound)), '(', strict ? ')' : ']'),
                new Tuple(List.of(bound, inf), strict ? '(' : '[', ')')));
    }

    private static boolean isAbsOfSymbol(MathNode n) {
        return n instanceof Func f && f.name().equals("abs") && f.argument() instanceof Sym;
    }

    private static boolean isStrict(RelOp op) {
        return op == RelOp.LT || op == RelOp.GT;
    }
}
