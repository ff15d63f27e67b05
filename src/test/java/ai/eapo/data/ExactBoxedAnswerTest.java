package ai.eapo.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class ExactBoxedAnswerTest {

    @Test
    void takesTheLastBoxWithNestedBraces() {
        assertEquals(Optional.of("\\frac{1}{2}"), ExactBoxedAnswer.lastBoxed("first \\boxed{3} then \\boxed{\\frac{1}{2}}."));
        assertEquals(Optional.of("14"), ExactBoxedAnswer.lastBoxed("7*2=14. The answer is \\boxed{ 14 }."));
    }

    @Test
    void noBoxOrUnclosedLastBoxHasNoAnswer() {
        assertEquals(Optional.empty(), ExactBoxedAnswer.lastBoxed("The answer is 14."));
        assertEquals(Optional.empty(), ExactBoxedAnswer.lastBoxed("\\boxed{3} and then \\boxed{1"));
    }

    @Test
    void correctnessIsExactMatch() {
        assertTrue(ExactBoxedAnswer.isCorrect("so \\boxed{42}", "42"));
        assertFalse(ExactBoxedAnswer.isCorrect("so \\boxed{42.0}", "42"));
        assertFalse(ExactBoxedAnswer.isCorrect("so \\boxed{41}", "42"));
        assertFalse(ExactBoxedAnswer.isCorrect("so 42", "42"));
    }
}
