package ai.eapo.verify;

import ai.eapo.verify.MathNode.Const;
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
 * Evaluates a scalar expression holding the imaginary unit {@code i} as a complex number, variables taking real
 * values. Covers arithmetic, real powers and roots (principal values, as sympy takes them) and {@code |z|}.
 * Complex exponents and functions of complex arguments are left undefined (NaN): answers rarely need them, and a
 * NaN never makes two answers equal. Never throws on bad math.
 */
final class ComplexEvaluator {

    /** A complex value; NaN parts mean undefined. */
    record Complex(double re, double im) {

        static final Complex UNDEFINED = new Complex(Double.NaN, Double.NaN);
        static final Complex I = new Complex(0, 1);

        static Complex real(double x) {
            return new Complex(x, 0);
        }

        boolean isReal() {
            return im == 0;
        }

        boolean isFinite() {
            return Double.isFinite(re) && Double.isFinite(im);
        }

        double modulus() {
            return Math.hypot(re, im);
        }

        Complex plus(Complex o) {
            return new Complex(re + o.re, im + o.im);
        }

        Complex minus(Complex o) {
            return new Complex(re - o.re, im - o.im);
        }

        Complex times(Complex o) {
            return new Complex(re * o.re - im * o.im, re * o.im + im * o.re);
        }

        Complex dividedBy(Complex o) {
            double d = o.re * o.re + o.im * o.im;
            return d == 0 ? UNDEFINED : new Complex((re * o.re + im * o.im) / d, (im * o.re - re * o.im) / d);
        }

        /** Principal value of this to a real power: r^e (cos eθ + i sin eθ). */
        Complex pow(double e) {
            if (isReal() && (re > 0 || e == Math.rint(e))) {
                return real(Math.pow(re, e)); // exact for real bases, like the real evaluator
            }
            double r = Math.pow(modulus(), e);
            double theta = Math.atan2(im, re) * e;
            return new Complex(r * Math.cos(theta), r * Math.sin(theta));
        }
    }

    private static final int SQUARE_ROOT_INDEX = 2;

    private final CheckBudget budget;
    private final NumericEvaluator real;

    ComplexEvaluator(CheckBudget budget, NumericEvaluator real) {
        this.budget = budget;
        this.real = real;
    }

    Complex evaluate(MathNode node, Map<String, Double> variables) {
        return eval(node, variables, 0);
    }

    private Complex eval(MathNode node, Map<String, Double> vars, int depth) {
        budget.enter(depth);
        int d = depth + 1;
        if (node instanceof Num n) {
            return Complex.real(n.value().doubleValue());
        } else if (node instanceof Sym s) {
            return Complex.real(vars.getOrDefault(s.name(), Double.NaN));
        } else if (node instanceof Const c) {
            return c.constant() == MathNode.Constant.I ? Complex.I : Complex.real(real.evaluate(c, vars));
        } else if (node instanceof Neg n) {
            return Complex.real(0).minus(eval(n.operand(), vars, d));
        } else if (node instanceof Sum s) {
            Complex acc = Complex.real(0);
            for (MathNode t : s.terms()) {
                acc = acc.plus(eval(t, vars, d));
            }
            return acc;
        } else if (node instanceof Product p) {
            Complex acc = Complex.real(1);
            for (MathNode f : p.factors()) {
                acc = acc.times(eval(f, vars, d));
            }
            return acc;
        } else if (node instanceof Quotient q) {
            return eval(q.numerator(), vars, d).dividedBy(eval(q.denominator(), vars, d));
        } else if (node instanceof Power p) {
            Complex exponent = eval(p.exponent(), vars, d);
            return exponent.isReal() ? eval(p.base(), vars, d).pow(exponent.re()) : Complex.UNDEFINED;
        } else if (node instanceof Root r) {
            return root(eval(r.radicand(), vars, d), eval(r.index(), vars, d));
        } else if (node instanceof Func f && f.name().equals("abs")) {
            return Complex.real(eval(f.argument(), vars, d).modulus());
        }
        // functions, factorials, binomials: defined here only where the real evaluator defines them
        return Complex.real(real.evaluate(node, vars));
    }

    private static Complex root(Complex x, Complex index) {
        if (!index.isReal() || index.re() == 0) {
            return Complex.UNDEFINED;
        }
        double n = index.re();
        boolean oddInteger = n == Math.rint(n) && Math.abs(n % 2) == 1 && n != 1;
        if (x.isReal() && x.re() < 0 && oddInteger) {
            return Complex.real(-Math.pow(-x.re(), 1 / n)); // the real cube root, as the real evaluator takes it
        }
        if (n == SQUARE_ROOT_INDEX && x.isReal() && x.re() >= 0) {
            return Complex.real(Math.sqrt(x.re()));
        }
        return x.pow(1 / n);
    }
}
