package ai.eapo.verify;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CountdownVerifierTest {

    private final CountdownVerifier verifier = new CountdownVerifier(VerifierOptions.defaults());
    private static final String REF = "24 from 2,3,4";

    private void right(String response) {
        Verdict v = verifier.verify(response, REF);
        assertTrue(v.correct(), v.reason());
        assertEquals(1.0, v.reward());
    }

    private void wrong(String response, String because) {
        Verdict v = verifier.verify(response, REF);
        assertFalse(v.correct(), response);
        assertEquals(0.0, v.reward());
        assertTrue(v.reason().contains(because), "reason '" + v.reason() + "' should say '" + because + "'");
    }

    @Test
    void stepsThatUseEveryNumberOnceAndReachTheTargetAreRight() {
        right("3*4=12. 12*2=24. The answer is \\boxed{24}.");
        right("4*3=12. 2*12=24. The answer is \\boxed{24}.");
        right("First 4 * 3 = 12, then 12*2 = 24. \\boxed{24}");
    }

    @Test
    void aBoxedExpressionIsCheckedByItself() {
        right("\\boxed{2*3*4}");
        right("The answer is \\boxed{(3*4)*2}.");
        right("\\boxed{4 \\times 3 \\times 2}");
    }

    @Test
    void everyWayOfBeingWrongIsNamed() {
        wrong("3*4=12. 12*3=36. The answer is \\boxed{36}.", "3 is not available");
        wrong("3*4=13. 13*2=26. The answer is \\boxed{26}.", "3*4 is 12, not 13");
        wrong("3*4=12. The answer is \\boxed{12}.", "not every number is used: 2 12 left");
        wrong("3+4=7. 7*2=14. The answer is \\boxed{14}.", "the steps reach 14, not the target 24");
        wrong("3*4=12. 12*2=24. The answer is \\boxed{25}.", "boxed 25 but the steps reach 24");
        wrong("4/3=1. 2*1=2. The answer is \\boxed{24}.", "4/3 is not a whole number");
        wrong("3-4=1. 2*1=2. The answer is \\boxed{24}.", "3-4 is not a whole number");
        wrong("The answer is 24.", "no \\boxed{} answer");
        wrong("The answer is \\boxed{24}.", "no steps");
        wrong("\\boxed{3*4}", "not every number is used: 2 left");
        wrong("\\boxed{(3+4)*2}", "the expression is 14, not the target 24");
        wrong("\\boxed{2*3*4*2/2}", "2 more often than given");
        wrong("\\boxed{\\sqrt{4}*3*2}", "root");
        wrong("\\boxed{2*(3*4}", "does not parse");
    }

    @Test
    void aBadReferenceIsNamed() {
        Verdict v = verifier.verify("\\boxed{24}", "24");
        assertFalse(v.correct());
        assertTrue(v.reason().contains("TARGET from N1,N2"), v.reason());
    }

    @Test
    void theTaskChoosesTheChecker() {
        assertTrue(AnswerChecker.forTask("countdown", VerifierOptions.defaults()) instanceof CountdownVerifier);
        assertTrue(AnswerChecker.forTask(" Math", VerifierOptions.defaults()) instanceof MathVerifier);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AnswerChecker.forTask("chess", VerifierOptions.defaults()));
        assertTrue(e.getMessage().contains("eapo.train.task") && e.getMessage().contains("chess"), e.getMessage());
    }
}
