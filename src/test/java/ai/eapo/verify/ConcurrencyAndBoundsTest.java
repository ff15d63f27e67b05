package ai.eapo.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class ConcurrencyAndBoundsTest {

    private static final int THREADS = 4;

    @Test
    void sharedVerifierGivesSameVerdictsFromManyThreads() throws Exception {
        MathVerifier verifier = new MathVerifier();
        List<VerifierCasesTest.Case> cases = VerifierCasesTest.cases();
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            List<Future<Boolean>> results = cases.stream()
                    .map(c -> pool.submit(() -> c.mode().equals("response")
                            ? verifier.verify(c.prediction(), c.reference()).correct()
                            : verifier.verifyAnswer(c.prediction(), c.reference()).correct()))
                    .toList();
            for (int i = 0; i < cases.size(); i++) {
                assertEquals(cases.get(i).expected(), results.get(i).get(), "line " + cases.get(i).line());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void slowCheckStopsAtTheTimeBound() {
        // a large unordered comparison of symbolic sets: quadratic work, far more than one millisecond
        StringBuilder set = new StringBuilder("\\{");
        for (int i = 0; i < 150; i++) {
            set.append(i == 0 ? "" : ",").append("x^").append(i).append("+y");
        }
        String answer = set.append("\\}").toString();
        MathVerifier hurried = new MathVerifier(VerifierOptions.defaults().withTimeoutMillis(1));
        Verdict v = hurried.verifyAnswer(answer, answer.replace("+y", "+y+0"));
        assertFalse(v.correct());
        assertTrue(v.reason().contains("time bound"), v.reason());
    }

    @Test
    void overlongAnswerIsRejectedWithReason() throws IOException {
        VerifierOptions options = VerifierOptions.defaults();
        String answer = "1".repeat(options.maxAnswerChars() + 1);
        Verdict v = new MathVerifier(options).verifyAnswer(answer, answer);
        assertFalse(v.correct());
        assertTrue(v.reason().contains("longer than"), v.reason());
    }

    @Test
    void disabledLastNumberFallbackExtractsNothing() {
        MathVerifier strict = new MathVerifier(VerifierOptions.defaults().withFallbackToLastNumber(false));
        Verdict v = strict.verify("so we get 7 apples", "7");
        assertEquals(ExtractionRule.NONE, v.rule());
        assertFalse(v.correct());
        assertTrue(new MathVerifier().verify("so we get 7 apples", "7").correct());
    }
}
