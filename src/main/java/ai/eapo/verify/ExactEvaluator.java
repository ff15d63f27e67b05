package ai.eapo.verify;

import ai.eapo.verify.MathNode.Binomial;
import ai.eapo.verify.MathNode.Factorial;
import ai.eapo.verify.MathNode.Neg;
import ai.eapo.verify.MathNode.Num;
import ai.eapo.verify.MathNode.Power;
import ai.eapo.verify.MathNode.Product;
import ai.eapo.verify.MathNode.Quotient;
import ai.eapo.verify.MathNode.Root;
import ai.eapo.verify.MathNode.Sum;
import java.math.BigInteger;
import java.util.Optional;

/**
 * Evaluates variable-free rational expressions exactly ({@code 3/6 = 1/2}, {@code \sqrt{9/4} = 3/2},
 * {@code 10!}). Anything irrational, symbolic or bigger than {@code maxBits} yields empty; the caller then
 * falls back to floating evaluation. Every intermediate result is size-checked, so no step is expensive.
 */
final class ExactEvaluator {

    /** Beyond this a power or root index is not worth an exact attempt. */
    private static final int MAX_EXACT_EXPONENT = 10_000;

    private final int maxBits;
    private final int maxFactorial;
    private final CheckBudget budget;

    ExactEvaluator(int maxBits, int maxFactorial, CheckBudget budget) {
        this.maxBits = maxBits;
        this.maxFactorial = maxFactorial;
        this.budget = budget;
    }

    Optional<BigRational> evaluate(MathNode node) {
        try {
            return Optional.ofNullable(eval(node, 0));
        } catch (ArithmeticException e) {
            return Optional.empty();
        }
    }

    private BigRational eval(MathNode node, int depth) {
        budget.enter(depth);
        BigRational r;
        if (node instanceof Num n) {
            // 1e999999999 would expand into a gigantic integer: too big to be exact-worthy
            r = Math.abs(n.value().scale()) > maxBits ? null : BigRational.of(n.value());
        } else if (node instanceof Neg n) {
            r = negate(eval(n.operand(), depth + 1));
        } else if (node instanceof Sum s) {
            r = fold(s.terms(), BigRational.ZERO, true, depth);
        } else if (node instanceof Product p) {
            r = fold(p.factors(), BigRational.ONE, false, depth);
        } else if (node instanceof Quotient q) {
            BigRational a = eval(q.numerator(), depth + 1);
            BigRational b = a == null ? null : eval(q.denominator(), depth + 1);
            r = b == null || b.numerator().signum() == 0 ? null : a.divide(b);
        } else if (node instanceof Power p) {
            r = power(eval(p.base(), depth + 1), eval(p.exponent(), depth + 1));
        } else if (node instanceof Root rt) {
            r = root(eval(rt.radicand(), depth + 1), eval(rt.index(), depth + 1));
        } else if (node instanceof Factorial f) {
            r = factorial(eval(f.operand(), depth + 1));
        } else if (node instanceof Binomial b) {
            r = binomial(eval(b.n(), depth + 1), eval(b.k(), depth + 1));
        } else {
            r = null;
        }
        return r == null ? null : checked(r);
    }

    private BigRational fold(java.util.List<MathNode> parts, BigRational acc, boolean add, int depth) {
        for (MathNode part : parts) {
            BigRational v = eval(part, depth + 1);
            if (v == null) {
                return null;
            }
            acc = checked(add ? acc.add(v) : acc.multiply(v));
            if (acc == null) {
                return null;
            }
        }
        return acc;
    }

    private static BigRational negate(BigRational v) {
        return v == null ? null : v.negate();
    }

    private BigRational checked(BigRational r) {
        return r.bitLength() > maxBits ? null : r;
    }

    private BigRational power(BigRational base, BigRational exponent) {
        if (base == null || exponent == null || !exponent.isInteger() || exponent.numerator().bitLength() > 31) {
            return null;
        }
        int e = exponent.numerator().intValueExact();
        if (Math.abs(e) > MAX_EXACT_EXPONENT || (base.numerator().signum() == 0 && e < 0)) {
            return null;
        }
        long resultBits = (long) base.bitLength() * Math.abs(e);
        return resultBits > maxBits ? null : base.pow(e);
    }

    /** Exact only when the radicand is a perfect power, e.g. sqrt(9/4). */
    private static BigRational root(BigRational radicand, BigRational index) {
        if (radicand == null || index == null || !index.isInteger() || index.numerator().signum() <= 0
                || index.numerator().bitLength() > 31) {
            return null;
        }
        int n = index.numerator().intValueExact();
        boolean negative = radicand.numerator().signum() < 0;
        if (negative && n % 2 == 0) {
            return null;
        }
        BigInteger num = integerRoot(radicand.numerator().abs(), n);
        BigInteger den = integerRoot(radicand.denominator(), n);
        if (num == null || den == null) {
            return null;
        }
        return BigRational.of(negative ? num.negate() : num, den);
    }

    private static BigInteger integerRoot(BigInteger x, int n) {
        if (n == 2) {
            BigInteger s = x.sqrt();
            return s.multiply(s).equals(x) ? s : null;
        }
        long approx = Math.round(Math.pow(x.doubleValue(), 1.0 / n));
        for (long candidate = Math.max(0, approx - 1); candidate <= approx + 1; candidate++) {
            if (BigInteger.valueOf(candidate).pow(n).equals(x)) {
                return BigInteger.valueOf(candidate);
            }
        }
        return null;
    }

    private BigRational factorial(BigRational v) {
        if (v == null || !v.isInteger() || v.numerator().signum() < 0
                || v.numerator().compareTo(BigInteger.valueOf(maxFactorial)) > 0) {
            return null;
        }
        int n = v.numerator().intValueExact();
        BigInteger acc = BigInteger.ONE;
        for (int i = 2; i <= n; i++) {
            budget.tick();
            acc = acc.multiply(BigInteger.valueOf(i));
        }
        return BigRational.of(acc, BigInteger.ONE);
    }

    private BigRational binomial(BigRational n, BigRational k) {
        if (n == null || k == null || !n.isInteger() || !k.isInteger() || k.numerator().signum() < 0
                || n.numerator().bitLength() > 31 || k.numerator().compareTo(BigInteger.valueOf(maxFactorial)) > 0) {
            return null;
        }
        long nn = n.numerator().longValueExact();
        int kk = k.numerator().intValueExact();
        if (kk > nn && nn >= 0) {
            return BigRational.ZERO;
        }
        BigInteger acc = BigInteger.ONE;
        for (int i = 0; i < kk; i++) {
            budget.tick();
            acc = acc.multiply(BigInteger.valueOf(nn - i)).divide(BigInteger.valueOf(i + 1L));
        }
        return BigRational.of(acc, BigInteger.ONE);
    }
}
