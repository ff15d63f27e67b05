package ai.eapo.verify;

import java.math.BigDecimal;
import java.util.List;

/**
 * Parsed answer. Scalars (numbers, symbols, arithmetic) are evaluated; structures (tuples, sets, intervals,
 * matrices, relations, unions) are compared part by part. Sums and products are n-ary so that long flat
 * expressions do not make deep trees.
 */
sealed interface MathNode {

    /** A literal; {@code decimal} marks a written approximation such as {@code 0.33} (tolerant comparison). */
    record Num(BigDecimal value, boolean decimal) implements MathNode {
    }

    /** A variable such as {@code x}, {@code x_1} or {@code \alpha}. */
    record Sym(String name) implements MathNode {
    }

    /** {@code I} is the imaginary unit, which math-verify's sympy parsing reads a bare {@code i} as. */
    enum Constant { PI, E, INFINITY, I }

    record Const(Constant constant) implements MathNode {
    }

    record Sum(List<MathNode> terms) implements MathNode {
    }

    record Neg(MathNode operand) implements MathNode {
    }

    record Product(List<MathNode> factors) implements MathNode {
    }

    record Quotient(MathNode numerator, MathNode denominator) implements MathNode {
    }

    record Power(MathNode base, MathNode exponent) implements MathNode {
    }

    /** {@code \sqrt[index]{radicand}}; index 2 for a square root. */
    record Root(MathNode radicand, MathNode index) implements MathNode {
    }

    /** A named function of one argument; {@code base} is only set for {@code \log_b}. */
    record Func(String name, MathNode argument, MathNode base) implements MathNode {
    }

    record Factorial(MathNode operand) implements MathNode {
    }

    record Binomial(MathNode n, MathNode k) implements MathNode {
    }

    /** {@code a \pm b}: stands for both {@code a + b} and {@code a - b}. */
    record PlusMinus(MathNode left, MathNode right) implements MathNode {
    }

    /** Ordered tuple or interval: {@code (1,2)}, {@code [0,1)}; the brackets decide open or closed ends. */
    record Tuple(List<MathNode> items, char open, char close) implements MathNode {
    }

    /** {@code \{1,2\}}: unordered. */
    record SetOf(List<MathNode> items) implements MathNode {
    }

    /** Bare top-level comma list {@code 1, 2}: several answers, order ignored. */
    record Items(List<MathNode> items) implements MathNode {
    }

    record Matrix(List<List<MathNode>> rows) implements MathNode {
    }

    record Union(List<MathNode> parts) implements MathNode {
    }

    enum RelOp { EQ, NE, LT, LE, GT, GE, IN }

    /** {@code a op b op c ...}; {@code operands.size() == ops.size() + 1}. */
    record Relation(List<MathNode> operands, List<RelOp> ops) implements MathNode {
    }
}
