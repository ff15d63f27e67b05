package ai.eapo.verify;

import java.math.BigDecimal;
import java.math.BigInteger;

/** Exact rational number in lowest terms with a positive denominator. */
record BigRational(BigInteger numerator, BigInteger denominator) {

    static final BigRational ZERO = new BigRational(BigInteger.ZERO, BigInteger.ONE);
    static final BigRational ONE = new BigRational(BigInteger.ONE, BigInteger.ONE);

    static BigRational of(BigInteger n, BigInteger d) {
        if (d.signum() == 0) {
            throw new ArithmeticException("division by zero");
        }
        if (d.signum() < 0) {
            n = n.negate();
            d = d.negate();
        }
        BigInteger g = n.gcd(d);
        return g.equals(BigInteger.ONE) || g.signum() == 0 ? new BigRational(n, d) : new BigRational(n.divide(g), d.divide(g));
    }

    static BigRational of(BigDecimal value) {
        BigDecimal v = value.stripTrailingZeros();
        return v.scale() <= 0
                ? new BigRational(v.toBigIntegerExact(), BigInteger.ONE)
                : of(v.unscaledValue(), BigInteger.TEN.pow(v.scale()));
    }

    static BigRational of(long n) {
        return new BigRational(BigInteger.valueOf(n), BigInteger.ONE);
    }

    BigRational add(BigRational o) {
        return of(numerator.multiply(o.denominator).add(o.numerator.multiply(denominator)), denominator.multiply(o.denominator));
    }

    BigRational negate() {
        return new BigRational(numerator.negate(), denominator);
    }

    BigRational multiply(BigRational o) {
        return of(numerator.multiply(o.numerator), denominator.multiply(o.denominator));
    }

    BigRational divide(BigRational o) {
        return of(numerator.multiply(o.denominator), denominator.multiply(o.numerator));
    }

    /** Integer power; the caller bounds the exponent so the result stays small. */
    BigRational pow(int exponent) {
        BigRational r = of(numerator.pow(Math.abs(exponent)), denominator.pow(Math.abs(exponent)));
        return exponent >= 0 ? r : ONE.divide(r);
    }

    boolean isInteger() {
        return denominator.equals(BigInteger.ONE);
    }

    int bitLength() {
        return Math.max(numerator.bitLength(), denominator.bitLength());
    }

    @Override
    public String toString() {
        return isInteger() ? numerator.toString() : numerator + "/" + denominator;
    }
}
