package ai.eapo.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Hostile inputs end in a 0.0 verdict with a reason and never throw. The JUnit timeout is a hang detector
 * (generous, not a performance assertion).
 */
class AdversarialInputTest {

    private static final int HANG_DETECTOR_SECONDS = 10;
    private static final long SEED = 7;
    private static final MathVerifier VERIFIER = new MathVerifier();

    static Stream<String> hostile() {
        Random random = new Random(SEED);
        byte[] bytes = new byte[1500];
        random.nextBytes(bytes);
        return Stream.of(
                "\\boxed{" + "{".repeat(5000),
                "}".repeat(3000) + "\\boxed{1",
                "(".repeat(10_000) + "1" + ")".repeat(10_000),
                "\\boxed{" + "(".repeat(10_000) + "1" + ")".repeat(10_000) + "}",
                "\\boxed{" + "(".repeat(150) + "1" + ")".repeat(150) + "}",
                "10^{10^{10^{10}}}",
                "\\boxed{10^{10^{10^{10}}}}",
                "\\boxed{9^{9^{9^{9^{9}}}}}",
                "\\boxed{100000!}",
                "\\boxed{(10^{9})!}",
                "\\boxed{1e999999999}",
                "\\boxed{\\binom{10^{12}}{5 \\cdot 10^{11}}}",
                "\\boxed{" + "\\frac{1}{".repeat(3000) + "2" + "}".repeat(3000) + "}",
                "\\boxed{" + "1/".repeat(5000) + "1}",
                "\\boxed{" + "x^".repeat(5000) + "x}",
                "\\boxed{" + "-".repeat(5000) + "1}",
                "\\boxed{" + "\\sqrt{".repeat(4000) + "2" + "}".repeat(4000) + "}",
                "\\boxed{" + "1+".repeat(3000) + "1}",
                "\\boxed{" + "x".repeat(1900) + "}",
                "\\boxed{" + "1 \\pm ".repeat(300) + "1}",
                "\\boxed{" + "\\{1,".repeat(3000) + "}",
                "\\boxed{" + "|".repeat(3000) + "}",
                "\\boxed{\\begin{pmatrix}" + "1&".repeat(900) + "1\\end{pmatrix}}",
                "9".repeat(300_000),
                "\\boxed{" + "9".repeat(1999) + "}",
                new String(bytes, java.nio.charset.StandardCharsets.ISO_8859_1),
                "\\boxed{\\frac{}{}}",
                "\\boxed{}",
                "\\boxed{\\left(\\right.}",
                "\\boxed{1_{}}");
    }

    @ParameterizedTest
    @MethodSource("hostile")
    @Timeout(value = HANG_DETECTOR_SECONDS, unit = TimeUnit.SECONDS)
    void hostileResponseIsRejectedWithReason(String response) {
        Verdict v = VERIFIER.verify(response, "5");
        assertFalse(v.correct(), v.reason());
        assertNotNull(v.reason());
    }

    @ParameterizedTest
    @MethodSource("hostile")
    @Timeout(value = HANG_DETECTOR_SECONDS, unit = TimeUnit.SECONDS)
    void hostileReferenceIsHandled(String gold) {
        Verdict v = VERIFIER.verifyAnswer("5", gold);
        assertEquals(0.0, v.reward(), v.reason());
        assertNotNull(v.reason());
    }
}
