package ai.eapo.algorithm;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Which problems make up the batch of each learner step: a seeded shuffle per pass over the data, taken in
 * order, so every problem is used once per pass. The synchronous loop and the learner's {@link StepPlanner} both
 * draw from here, which is what lets the actor pipeline reproduce the synchronous loop.
 */
public final class TrainingBatches {

    private TrainingBatches() {
    }

    /** The {@code size} problems of step {@code step}. */
    public static <T> List<T> of(List<T> data, long step, int size, long seed) {
        return indices(data.size(), step, size, seed).stream().map(data::get).toList();
    }

    /** The places in the data (of {@code dataSize} problems) of step {@code step}'s {@code size} problems. */
    public static List<Integer> indices(int dataSize, long step, int size, long seed) {
        if (dataSize < 1 || size < 1) {
            throw new IllegalArgumentException("a batch needs data and size >= 1, got " + dataSize + " problems, size " + size);
        }
        long perPass = Math.max(1, dataSize / size);
        long pass = step / perPass;
        List<Integer> shuffled = new ArrayList<>(IntStream.range(0, dataSize).boxed().toList());
        Collections.shuffle(shuffled, RunSeeds.dataPass(seed, pass));
        int offset = (int) ((step % perPass) * size);
        return List.copyOf(shuffled.subList(offset, Math.min(shuffled.size(), offset + size)));
    }
}
