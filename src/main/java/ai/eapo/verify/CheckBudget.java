package ai.eapo.verify;

/**
 * Cooperative time and depth bound of one check. Every loop and recursion of parsing and evaluation calls
 * {@link #tick()} or {@link #enter(int)}; each single step is itself bounded (operand sizes are capped), so a
 * check can overrun its deadline by at most one step. Not shared between threads: one budget per check.
 */
final class CheckBudget {

    /** Checking the clock on every tick would dominate cheap checks; this many ticks share one clock read. */
    private static final int TICKS_PER_CLOCK_READ = 64;

    private final long deadlineNanos;
    private final int maxDepth;
    private int ticks;

    CheckBudget(long timeoutMillis, int maxDepth) {
        this.deadlineNanos = System.nanoTime() + timeoutMillis * 1_000_000L;
        this.maxDepth = maxDepth;
    }

    void tick() {
        if (++ticks % TICKS_PER_CLOCK_READ == 0 && System.nanoTime() > deadlineNanos) {
            throw new CheckAbortedException("time bound exceeded");
        }
    }

    /** Call on entering a nested construct; throws when {@code depth} exceeds the bound. */
    void enter(int depth) {
        tick();
        if (depth > maxDepth) {
            throw new CheckAbortedException("nesting deeper than " + maxDepth);
        }
    }
}
