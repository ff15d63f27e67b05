package ai.eapo.verify;

import ai.eapo.verify.MathNode.Binomial;
import ai.eapo.verify.MathNode.Const;
import ai.eapo.verify.MathNode.Factorial;
import ai.eapo.verify.MathNode.Func;
import ai.eapo.verify.MathNode.Neg;
import ai.eapo.verify.MathNode.Num;
import ai.eapo.verify.MathNode.Power;
import ai.eapo.verify.MathNode.Product;
import ai.eapo.verify.MathNode.Quotient;
import ai.eapo.verify.MathNode.Root;
import ai.eapo.verify.MathNode.Sum;
import ai.eapo.verify.MathNode.Sym;
import java.util.Map;

/**
 * Evaluates a scalar expression in double precision at given variable values. Undefined results (sqrt of a
 * negative, division by zero, unsupported structure) are NaN; overflow is infinite. Never throws on bad math.
 */
final class NumericEvaluator {

    /** n! overflows a double beyond this n. */
    private static final int MAX_DOUBLE_FACTORIAL = 170;
    private static final int SQUARE_ROOT_INDEX = 2;

    private final CheckBudget budget;

    NumericEvaluator(CheckBudget budget) {
        this.budget = budget;
    }

    double evaluate(MathNode node, Map<String, Double> variables) {
        return eval(node, variables, 0);
    }

    private double eval(MathNode node, Map<String, Double> vars, int depth) {
        budget.enter(depth);
        int d = depth + 1;
        if (node instanceof Num n) {
            return n.value().doubleValue();
        } else if (node instanceof Sym s) {
            return vars.getOrDefault(s.name(), Double.NaN);
        } else if (node instanceof Const c) {
            return switch (c.constant()) {
                case PI -> Math.PI;
                case E -> Math.E;
                case INFINITY -> Double.POSITIVE_INFINITY;
                case I -> Double.NaN; // not real: ComplexEvaluator handles answers with i
            };
        } else if (node instanceof Neg n) {
            return -eval(n.operand(), vars, d);
        } else if (node instanceof Sum s) {
            double acc = 0;
            for (MathNode t : s.terms()) {
                acc += eval(t, vars, d);
            }
            return acc;
        } else if (node instanceof Product p) {
            double acc = 1;
            for (MathNode f : p.factors()) {
                acc *= eval(f, vars, d);
            }
            return acc;
        } else if (node instanceof Quotient q) {
            double den = eval(q.denominator(), vars, d);
            return den == 0 ? Double.NaN : eval(q.numerator(), vars, d) / den;
        } else if (node instanceof Power p) {
            return Math.pow(eval(p.base(), vars, d), eval(p.exponent(), vars, d));
        } else if (node instanceof Root r) {
            return root(eval(r.radicand(), vars, d), eval(r.index(), vars, d));
        } else if (node instanceof Func f) {
            double base = f.base() == null ? Double.NaN : eval(f.base(), vars, d);
            return function(f.name(), eval(f.argument(), vars, d), base);
        } else if (node instanceof Factorial f) {
            return factorial(eval(f.operand(), vars, d));
        } else if (node instanceof Binomial b) {
            return binomial(eval(b.n(), vars, d), eval(b.k(), vars, d));
        }
        return Double.NaN;
    }

    private static double root(double x, double index) {
        if (index == SQUARE_ROOT_INDEX) {
            return Math.sqrt(x);
        }
        boolean oddInteger = index == Math.rint(index) && Math.abs(index % 2) == 1;
        if (x < 0 && oddInteger) {
            return -Math.pow(-x, 1 / index);
        }
        return Math.pow(x, 1 / index);
    }

    private static double function(String name, double x, double base) {
        return switch (name) {
            case "sin" -> Math.sin(x);
            case "cos" -> Math.cos(x);
            case "tan" -> Math.tan(x);
            case "cot" -> 1 / Math.tan(x);
            case "sec" -> 1 / Math.cos(x);
            case "csc" -> 1 / Math.sin(x);
            case "arcsin" -> Math.asin(x);
            case "arccos" -> Math.acos(x);
            case "arctan" -> Math.atan(x);
            case "sinh" -> Math.sinh(x);
            case "cosh" -> Math.cosh(x);
            case "tanh" -> Math.tanh(x);
            // sympy, and so both reference graders, read a bare \log as the natural logarithm
            case "ln" -> Math.log(x);
            case "log" -> Double.isNaN(base) ? Math.log(x) : Math.log(x) / Math.log(base);
            case "exp" -> Math.exp(x);
            case "abs" -> Math.abs(x);
            case "floor" -> Math.floor(x);
            case "ceil" -> Math.ceil(x);
            default -> Double.NaN;
        };
    }

    private double factorial(double n) {
        if (n < 0 || n != Math.rint(n)) {
            return Double.NaN;
        }
        if (n > MAX_DOUBLE_FACTORIAL) {
            return Double.POSITIVE_INFINITY;
        }
        double acc = 1;
        for (int i = 2; i <= n; i++) {
            acc *= i;
        }
        return acc;
    }

    private double binomial(double n, double k) {
        if (k < 0 || k != Math.rint(k) || n != Math.rint(n)) {
            return Double.NaN;
        }
        if (k > MAX_DOUBLE_FACTORIAL && n - k > MAX_DOUBLE_FACTORIAL) {
            return Double.POSITIVE_INFINITY;
        }
        double kk = Math.min(k, n - k >= 0 ? n - k : k);
        double acc = 1;
        for (int i = 0; i < kk; i++) {
            budget.tick();
            acc = acc * (n - i) / (i + 1);
        }
        return acc;
    }
}
