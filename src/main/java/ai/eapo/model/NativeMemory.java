package ai.eapo.model;

import com.sun.jna.Function;
import com.sun.jna.NativeLibrary;
import com.typesafe.config.Config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;

/**
 * The process's native memory: libtorch allocates tensors with the C allocator, outside the Java heap and its
 * limits. With glibc's defaults a training process kept gigabytes it no longer used: one malloc arena per
 * thread that ever allocated (up to 8 per core), each keeping what it freed, and a dynamic mmap threshold that
 * soon puts even large tensors in those arenas. {@link #configure} caps the arenas and fixes the threshold
 * ({@code eapo.memory.allocator}, applied at process start before the engine allocates), and {@link #trim} hands
 * freed arena pages back after a learner step or an evaluation. Elsewhere than glibc both do nothing.
 * Resident memory is read from {@code /proc/self/status}.
 */
public final class NativeMemory {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(NativeMemory.class);

    /** glibc's mallopt parameters (malloc.h). */
    private static final int M_TRIM_THRESHOLD = -1;
    private static final int M_MMAP_THRESHOLD = -3;
    private static final int M_ARENA_MAX = -8;
    private static final Path STATUS = Path.of("/proc/self/status");
    private static final Path MEMINFO = Path.of("/proc/meminfo");

    /** {@code eapo.memory.allocator}: arenas (0 = glibc's default), mmap and trim thresholds in bytes, trimming. */
    public record Allocator(int arenaMax, long mmapThreshold, long trimThreshold, boolean trimAfterWork) {
        public static Allocator fromConfig(Config config) {
            Config a = config.getConfig("eapo.memory.allocator");
            return new Allocator(a.getInt("arena-max"), a.getBytes("mmap-threshold"), a.getBytes("trim-threshold"),
                    a.getBoolean("trim-after-work"));
        }
    }

    private static volatile boolean trimAfterWork;
    private static final Function MALLOPT = libcFunction("mallopt");
    private static final Function MALLOC_TRIM = libcFunction("malloc_trim");

    private NativeMemory() {
    }

    /** Applies {@code allocator}; returns whether the C allocator took the settings (false off glibc). */
    public static boolean configure(Allocator allocator) {
        trimAfterWork = allocator.trimAfterWork();
        if (MALLOPT == null) {
            LOG.info("no glibc mallopt here; eapo.memory.allocator settings other than trimming are not applied");
            return false;
        }
        boolean ok = true;
        if (allocator.arenaMax() > 0) {
            ok &= mallopt(M_ARENA_MAX, allocator.arenaMax());
        }
        if (allocator.mmapThreshold() > 0) {
            ok &= mallopt(M_MMAP_THRESHOLD, (int) Math.min(Integer.MAX_VALUE, allocator.mmapThreshold()));
        }
        if (allocator.trimThreshold() > 0) {
            ok &= mallopt(M_TRIM_THRESHOLD, (int) Math.min(Integer.MAX_VALUE, allocator.trimThreshold()));
        }
        return ok;
    }

    /** Hands freed memory at the top and in the middle of every arena back to the system. */
    public static void trim() {
        if (MALLOC_TRIM != null) {
            MALLOC_TRIM.invokeInt(new Object[]{0});
        }
    }

    /** {@link #trim()} if {@code eapo.memory.allocator.trim-after-work} is on: called after a learner step or an evaluation. */
    public static void afterWork() {
        if (trimAfterWork) {
            trim();
        }
    }

    /** Resident set size of this process, in bytes (empty where /proc is not available). */
    public static OptionalLong residentBytes() {
        return kilobyteField(STATUS, "VmRSS:");
    }

    /** The highest resident set size of this process so far, in bytes (empty where /proc is not available). */
    public static OptionalLong peakResidentBytes() {
        return kilobyteField(STATUS, "VmHWM:");
    }

    /** Physical memory of this machine, in bytes (empty where /proc is not available). */
    public static OptionalLong machineBytes() {
        return kilobyteField(MEMINFO, "MemTotal:");
    }

    /** The value of the line of {@code file} that starts with {@code field}, a size in kB, in bytes. */
    private static OptionalLong kilobyteField(Path file, String field) {
        try {
            for (String line : Files.readAllLines(file)) {
                if (line.startsWith(field)) {
                    return OptionalLong.of(kilobytes(line));
                }
            }
        } catch (IOException | RuntimeException e) {
            return OptionalLong.empty();
        }
        return OptionalLong.empty();
    }

    /** "VmRSS:    123456 kB" → 123456 × 1024. */
    private static long kilobytes(String line) {
        String[] parts = line.trim().split("\\s+");
        return Long.parseLong(parts[1]) * 1024;
    }

    private static boolean mallopt(int parameter, int value) {
        return MALLOPT.invokeInt(new Object[]{parameter, value}) == 1;
    }

    private static Function libcFunction(String name) {
        try {
            return NativeLibrary.getInstance("c").getFunction(name);
        } catch (UnsatisfiedLinkError | RuntimeException e) {
            return null;
        }
    }
}
