package ai.eapo.actors;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * What this node's actors are doing, for the run's outcome and the node's /metrics: the wall time the actors of
 * each kind spend handling messages, summed over actors of that kind (a share near 1 per actor is a bottleneck;
 * near 0, an idle resource), the depth of the pipeline's queues, and the weight bytes streamed in. Actors write,
 * anyone reads; every field is thread-safe.
 */
public final class PipelineActivity {

    private final Map<String, LongAdder> nanos = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> actors = new ConcurrentHashMap<>();
    /** Questions the PromptSource holds ready for samplers. */
    private final AtomicInteger questionsWaiting = new AtomicInteger();
    /** Questions handed out whose groups are not complete yet. */
    private final AtomicInteger questionsOutstanding = new AtomicInteger();
    /** Responses this node's samplers sent to the verifiers and have no reward for yet. */
    private final AtomicInteger responsesAwaitingRewards = new AtomicInteger();
    /** Prior consultations the samplers of this node sent and have no answer to yet. */
    private final AtomicInteger consultationsInFlight = new AtomicInteger();
    private final LongAdder weightBytes = new LongAdder();
    private final LongAdder weightFailures = new LongAdder();

    void questions(int waiting, int outstanding) {
        questionsWaiting.set(waiting);
        questionsOutstanding.set(outstanding);
    }

    /** A sampler's change in unanswered prior consultations and unscored responses. */
    void inFlight(int consultationsDelta, int responsesDelta) {
        consultationsInFlight.addAndGet(consultationsDelta);
        responsesAwaitingRewards.addAndGet(responsesDelta);
    }

    void weightsReceived(long bytes) {
        weightBytes.add(bytes);
    }

    void weightTransferFailed() {
        weightFailures.increment();
    }

    public int questionsWaiting() {
        return questionsWaiting.get();
    }

    public int questionsOutstanding() {
        return questionsOutstanding.get();
    }

    public int responsesAwaitingRewards() {
        return responsesAwaitingRewards.get();
    }

    public int consultationsInFlight() {
        return consultationsInFlight.get();
    }

    /** Verified weight bytes streamed to this node's samplers from the learner's node. */
    public long weightBytes() {
        return weightBytes.sum();
    }

    /** Weight transfers that failed (corrupt, short, broken, timed out) and were retried. */
    public long weightFailures() {
        return weightFailures.sum();
    }

    /** Counts one more actor of {@code kind} (shares are per actor). */
    void register(String kind) {
        actors.computeIfAbsent(kind, k -> new LongAdder()).increment();
    }

    /** Runs {@code work} and charges its wall time to {@code kind}. */
    <T> T measure(String kind, java.util.function.Supplier<T> work) {
        long start = System.nanoTime();
        try {
            return work.get();
        } finally {
            nanos.computeIfAbsent(kind, k -> new LongAdder()).add(System.nanoTime() - start);
        }
    }

    /** The kinds of actor registered so far. */
    public java.util.Set<String> kinds() {
        return new java.util.TreeSet<>(actors.keySet());
    }

    /** Per kind: busy time per actor of that kind divided by {@code wallNanos}. */
    public Map<String, Double> shares(long wallNanos) {
        Map<String, Double> out = new TreeMap<>();
        nanos.forEach((kind, busy) -> {
            long count = Math.max(1, actors.getOrDefault(kind, new LongAdder()).sum());
            out.put(kind, busy.sum() / (double) count / wallNanos);
        });
        return out;
    }
}
