package ai.eapo.training;

import ai.djl.Device;
import ai.eapo.UserInputException;
import ai.eapo.model.NativeMemory;
import com.typesafe.config.Config;

import java.util.Locale;
import java.util.OptionalLong;

/**
 * The memory a node may plan to use ({@code eapo.memory.limit} and {@code max-share}): by default this machine's
 * physical memory, or a GPU device's memory where the tensors live there. A budget above it is refused before
 * any weight is loaded, with the budget's breakdown, so nothing is lost and nothing half-written.
 */
public record MemoryLimit(long bytes, String source, boolean device) {

    public static final String KEY_LIMIT = "eapo.memory.limit";
    public static final String KEY_SHARE = "eapo.memory.max-share";

    /** GiB the suggested -Xmx adds above the heap the budget needs (room for everything else on the heap). */
    private static final long HEAP_SUGGESTION_HEADROOM_GIB = 2;

    /** No limit known (a device whose memory cannot be read): nothing is refused. */
    public static final MemoryLimit UNKNOWN = new MemoryLimit(Long.MAX_VALUE, "unknown", false);

    /** A limit on everything the process holds (a CPU node). */
    public MemoryLimit(long bytes, String source) {
        this(bytes, source, false);
    }

    /** The limit for tensors on {@code device}: {@code limit} × {@code max-share}, {@code limit = auto} measured. */
    public static MemoryLimit fromConfig(Config config, Device device) {
        double share = config.getDouble(KEY_SHARE);
        if (!(share > 0 && share <= 1)) {
            throw new UserInputException(KEY_SHARE + " = " + share + ": must be in (0, 1]");
        }
        if (!config.getString(KEY_LIMIT).equals("auto")) {
            long bytes;
            try {
                bytes = config.getBytes(KEY_LIMIT);
            } catch (RuntimeException e) {
                throw new UserInputException(KEY_LIMIT + " = " + config.getString(KEY_LIMIT) + ": expected auto or a size "
                        + "such as 24GiB");
            }
            return new MemoryLimit((long) (bytes * share), KEY_LIMIT + " × " + share, device.isGpu());
        }
        OptionalLong bytes = device.isGpu() ? gpuBytes(device) : NativeMemory.machineBytes();
        if (bytes.isEmpty()) {
            return UNKNOWN;
        }
        String what = device.isGpu() ? device + " memory" : "this machine's memory";
        return new MemoryLimit((long) (bytes.getAsLong() * share), String.format(Locale.ROOT, "%s (%s) × %s", what,
                MemoryBudget.gib(bytes.getAsLong()), share), device.isGpu());
    }

    /**
     * Throws naming the budget's every item when {@code budget} exceeds this limit.
     *
     * @throws UserInputException with the breakdown
     */
    public void requireFits(MemoryBudget budget) {
        long heap = Runtime.getRuntime().maxMemory();
        if (budget.heapTotal() > heap) {
            throw new UserInputException(String.format(Locale.ROOT, "this learner serves weight versions of %s to "
                            + "samplers on other nodes from the Java heap, which -Xmx limits to %s; nothing was loaded. "
                            + "Start it with e.g. java -Xmx%dg -jar eapo-node.jar ...", MemoryBudget.gib(budget.heapTotal()),
                    MemoryBudget.gib(heap), (budget.heapTotal() >> 30) + HEAP_SUGGESTION_HEADROOM_GIB));
        }
        if (!fits(budget)) {
            throw new UserInputException(String.format(Locale.ROOT, "this configuration needs %s of %s memory, more "
                            + "than %s = %s; nothing was loaded. The budget:%n%s"
                            + "Lower what dominates (eapo.memory.learner-micro-batch-tokens, rollout.decode-batch-size, "
                            + "pipeline.samplers, rollout.max-new-tokens), run the roles on several nodes, or set %s.",
                    MemoryBudget.gib(needed(budget)), device ? "device" : "host", source, MemoryBudget.gib(bytes),
                    budget.render(), KEY_LIMIT));
        }
    }

    /** Whether {@code budget} fits: its device items against a GPU's memory, all of it against a CPU node's. */
    public boolean fits(MemoryBudget budget) {
        return needed(budget) <= bytes;
    }

    private long needed(MemoryBudget budget) {
        return device ? budget.deviceTotal() : budget.total();
    }

    private static OptionalLong gpuBytes(Device device) {
        try {
            return OptionalLong.of(ai.djl.util.cuda.CudaUtils.getGpuMemory(device).getMax());
        } catch (RuntimeException | LinkageError e) {
            return OptionalLong.empty();
        }
    }
}
