package ai.eapo.actors;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Requests sent to another actor and not answered yet, by sequence id, each with when it was last sent: a request
 * unanswered for retry-after is due to be sent again (its prior or verifier may have died), and each further wait
 * doubles, up to {@value #BACKOFF_LIMIT} times retry-after. A prior slower than retry-after (a large one on a busy
 * node) would otherwise be sent the same consultation every retry-after, each one re-prefilled, and fall further
 * behind with each; a message lost to a dead node is still sent again within that many.
 */
final class RetriedRequests<T> {

    static final int BACKOFF_LIMIT = 8;

    private static final class Unanswered<T> {
        final T request;
        long sentNanos;
        /** retry-after times this before the next retry. */
        int backoff = 1;

        Unanswered(T request, long sentNanos) {
            this.request = request;
            this.sentNanos = sentNanos;
        }
    }

    private final long retryAfterNanos;
    private final LongSupplier clock;
    private final Map<Long, Unanswered<T>> unanswered = new HashMap<>();

    RetriedRequests(Duration retryAfter) {
        this(retryAfter, System::nanoTime);
    }

    /** {@code clock}: the time in nanoseconds (tests pass their own). */
    RetriedRequests(Duration retryAfter, LongSupplier clock) {
        this.retryAfterNanos = retryAfter.toNanos();
        this.clock = clock;
    }

    /** {@code request} for sequence {@code id} was sent now. */
    void sent(long id, T request) {
        unanswered.put(id, new Unanswered<>(request, clock.getAsLong()));
    }

    /** The unanswered request of sequence {@code id}, or null (answered already: a duplicate answer). */
    T get(long id) {
        Unanswered<T> u = unanswered.get(id);
        return u == null ? null : u.request;
    }

    /** The request of sequence {@code id} was answered; returns it, or null when it was answered before. */
    T answered(long id) {
        Unanswered<T> u = unanswered.remove(id);
        return u == null ? null : u.request;
    }

    /** Requests not answered yet. */
    int size() {
        return unanswered.size();
    }

    /** The requests due to be sent again now, counted as sent. */
    List<T> due() {
        long now = clock.getAsLong();
        List<T> due = new ArrayList<>();
        for (Unanswered<T> u : unanswered.values()) {
            if (now - u.sentNanos >= u.backoff * retryAfterNanos) {
                u.sentNanos = now;
                u.backoff = Math.min(2 * u.backoff, BACKOFF_LIMIT);
                due.add(u.request);
            }
        }
        return due;
    }
}
