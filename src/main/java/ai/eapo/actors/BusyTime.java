package ai.eapo.actors;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Wall time the actors of each kind spend handling messages, summed over actors of that kind: the
 * pipeline's utilisation numbers (a share near 1 per actor is a bottleneck; near 0, an idle resource).
 */
public final class BusyTime {

    private final Map<String, LongAdder> nanos = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> actors = new ConcurrentHashMap<>();

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
