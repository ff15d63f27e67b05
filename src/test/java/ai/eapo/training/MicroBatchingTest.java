package ai.eapo.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

import java.util.List;

/** Micro-batches bounded by responses and by padded tokens (rows × the longest input). */
class MicroBatchingTest {

    @Test
    void aMicroBatchTakesResponsesWhileRowsTimesTheLongestFitTheTokenBudget() {
        MicroBatching m = new MicroBatching(3, 100, 8);
        List<Integer> lengths = List.of(30, 30, 30, 40, 60, 10, 10, 10, 10);
        // 30,30,30 (the row limit) | 40 (with the 60: 2 · 60 = 120 > 100) | 60 (with a 10: 2 · 60 > 100) | 10,10,10 | 10
        assertEquals(List.of(List.of(30, 30, 30), List.of(40), List.of(60), List.of(10, 10, 10), List.of(10)),
                m.split(lengths, Integer::intValue));
    }

    @Test
    void anInputLongerThanTheBudgetIsAMicroBatchOfItsOwn() {
        assertEquals(List.of(List.of(5), List.of(500), List.of(5, 5)),
                new MicroBatching(4, 100, 8).split(List.of(5, 500, 5, 5), Integer::intValue));
    }

    @Test
    void withoutATokenLimitOnlyTheRowLimitSplits() {
        assertEquals(List.of(List.of(1, 2), List.of(3, 4), List.of(5)),
                MicroBatching.ofResponses(2).split(List.of(1, 2, 3, 4, 5), Integer::intValue));
    }

    @Test
    void limitsBelowOneAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new MicroBatching(0, 10, 1));
        assertThrows(IllegalArgumentException.class, () -> new MicroBatching(1, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> new MicroBatching(1, 10, 0));
    }
}
