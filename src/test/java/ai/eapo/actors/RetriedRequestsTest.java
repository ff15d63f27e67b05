package ai.eapo.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Unanswered requests come due after retry-after, then after twice as long each time, up to 8 times. */
class RetriedRequestsTest {

    @Test
    void aRequestIsDueAfterRetryAfterAndEachFurtherWaitDoublesUpToTheLimit() {
        AtomicLong now = new AtomicLong();
        RetriedRequests<String> requests = new RetriedRequests<>(Duration.ofNanos(10), now::get);
        requests.sent(7, "consult 7");
        now.set(9);
        assertEquals(List.of(), requests.due(), "not yet: 9 of 10");
        long[] expectedWaits = {10, 20, 40, 80, 80, 80};
        long at = 0;
        for (long wait : expectedWaits) {
            at += wait;
            now.set(at - 1);
            assertEquals(List.of(), requests.due(), "not due 1 ns before " + at);
            now.set(at);
            assertEquals(List.of("consult 7"), requests.due(), "due after waiting " + wait);
        }
        assertEquals(RetriedRequests.BACKOFF_LIMIT * 10, expectedWaits[expectedWaits.length - 1]);
    }

    @Test
    void anAnswerEndsTheRetriesAndADuplicateAnswerFindsNothing() {
        AtomicLong now = new AtomicLong();
        RetriedRequests<String> requests = new RetriedRequests<>(Duration.ofNanos(10), now::get);
        requests.sent(1, "check 1");
        requests.sent(2, "check 2");
        assertEquals("check 1", requests.get(1));
        assertEquals("check 1", requests.answered(1));
        assertNull(requests.answered(1), "a second answer to the same request");
        assertNull(requests.get(1));
        now.set(10);
        assertEquals(List.of("check 2"), requests.due());
    }
}
