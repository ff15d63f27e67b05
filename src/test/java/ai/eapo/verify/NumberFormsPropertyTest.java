package ai.eapo.verify;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Seeded property tests: equivalent renderings always verify, perturbed values never do. */
class NumberFormsPropertyTest {

    private static final long SEED = 42;
    private static final int TRIALS = 300;
    private static final int MAX_NUMERATOR = 100_000;
    private static final int MAX_DENOMINATOR = 1000;
    /** Well above the verifier's 1e-4 relative tolerance. */
    private static final double MIN_PERTURBATION = 1e-3;

    private final MathVerifier verifier = new MathVerifier();

    /** Renderings of the integer n, all equal to n. */
    private static List<String> integerForms(long n) {
        String plain = Long.toString(n);
        List<String> forms = new ArrayList<>(List.of(plain, "$" + plain + "$", "\\boxed{" + plain + "}",
                plain + ".0", "x = " + plain, "\\frac{" + 2 * n + "}{2}", "\\text{" + plain + "}"));
        forms.add(String.format("%,d", n));
        forms.add(n < 0 ? "-\\frac{" + (-3 * n) + "}{3}" : "\\dfrac{" + 3 * n + "}{3}");
        forms.add(new BigDecimal(n).movePointLeft(2).toPlainString() + " \\times 10^{2}");
        forms.add(new BigDecimal(n).movePointLeft(3).toPlainString() + "e3");
        return forms;
    }

    /** Renderings of p/q, all equal to p/q. */
    private static List<String> fractionForms(long p, long q) {
        String sign = p < 0 ? "-" : "";
        long a = Math.abs(p);
        return List.of("\\frac{" + p + "}{" + q + "}", sign + "\\frac{" + a + "}{" + q + "}", p + "/" + q,
                "\\tfrac{" + 2 * p + "}{" + 2 * q + "}", sign + "\\dfrac{" + 3 * a + "}{" + 3 * q + "}",
                "\\left(" + p + "/" + q + "\\right)", "\\frac{" + p + "}{" + q + "}\\text{ m}",
                new BigDecimal(p).divide(new BigDecimal(q), 12, RoundingMode.HALF_EVEN).toPlainString());
    }

    @Test
    void integersInEquivalentFormsVerify() {
        Random random = new Random(SEED);
        for (int t = 0; t < TRIALS; t++) {
            long n = random.nextInt(2 * MAX_NUMERATOR) - MAX_NUMERATOR;
            for (String form : integerForms(n)) {
                for (String gold : List.of(Long.toString(n), "$" + n + "$")) {
                    Verdict v = verifier.verifyAnswer(form, gold);
                    assertTrue(v.correct(), () -> form + " vs " + gold + ": " + v.reason());
                }
            }
        }
    }

    @Test
    void fractionsInEquivalentFormsVerify() {
        Random random = new Random(SEED + 1);
        for (int t = 0; t < TRIALS; t++) {
            long q = 1 + random.nextInt(MAX_DENOMINATOR);
            long p = random.nextInt(2 * MAX_NUMERATOR) - MAX_NUMERATOR;
            String gold = "\\frac{" + p + "}{" + q + "}";
            for (String form : fractionForms(p, q)) {
                Verdict v = verifier.verifyAnswer(form, gold);
                assertTrue(v.correct(), () -> form + " vs " + gold + ": " + v.reason());
            }
        }
    }

    @Test
    void perturbedNumbersNeverVerify() {
        Random random = new Random(SEED + 2);
        for (int t = 0; t < TRIALS; t++) {
            long q = 1 + random.nextInt(MAX_DENOMINATOR);
            long p = 1 + random.nextInt(MAX_NUMERATOR);
            BigDecimal exact = new BigDecimal(p).divide(new BigDecimal(q), 12, RoundingMode.HALF_EVEN);
            double factor = 1 + (random.nextBoolean() ? 1 : -1) * (MIN_PERTURBATION + random.nextDouble() * 0.1);
            String perturbed = exact.multiply(BigDecimal.valueOf(factor)).setScale(8, RoundingMode.HALF_EVEN).toPlainString();
            String gold = "\\frac{" + p + "}{" + q + "}";
            for (String form : List.of(perturbed, "\\boxed{" + perturbed + "}", "-" + perturbed)) {
                Verdict v = verifier.verifyAnswer(form, gold);
                assertFalse(v.correct(), () -> form + " vs " + gold + ": " + v.reason());
            }
        }
    }

    @Test
    void integersOffByOneNeverVerify() {
        Random random = new Random(SEED + 3);
        for (int t = 0; t < TRIALS; t++) {
            BigInteger n = new BigInteger(random.nextInt(200) + 2, random);
            String gold = n.toString();
            for (BigInteger wrong : List.of(n.add(BigInteger.ONE), n.subtract(BigInteger.ONE), n.negate())) {
                Verdict v = verifier.verifyAnswer(wrong.toString(), gold);
                assertFalse(v.correct(), () -> wrong + " vs " + gold + ": " + v.reason());
            }
        }
    }
}
