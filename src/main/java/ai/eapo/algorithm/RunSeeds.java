package ai.eapo.algorithm;

import java.util.Random;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;

/**
 * Every random draw of a run is a fixed function of the run seed and of where it happens (the pass over the data,
 * the learner step, the question's place in the step, the response slot), never of which sampler, node or
 * attempt makes it: so a rerun draws the same, and so does a re-issued question. The one place where the run
 * seed is mixed with those places.
 */
public final class RunSeeds {

    /** Spread a step's and a question's bits over the seed (large odd 64-bit constants, the golden ratio's first). */
    private static final long STEP_MIX = 0x9E3779B97F4A7C15L;
    private static final long QUESTION_MIX = 0xBF58476D1CE4E5B9L;
    /** Mixes the seed with the pass number so every pass over the data has its own order. */
    private static final long PASS_STRIDE = 31;
    /** A response slot's sampling seed: run, step, question and slot in strides that do not collide in practice. */
    private static final long SLOT_RUN_STRIDE = 1_000_003L;
    private static final long SLOT_STEP_STRIDE = 10_007L;

    private RunSeeds() {
    }

    /** The generator that shuffles the data for pass {@code pass}. */
    public static Random dataPass(long runSeed, long pass) {
        return new Random(runSeed * PASS_STRIDE + pass);
    }

    /** The generator of a learner step's draws (curriculum, replayed questions). */
    public static RandomGenerator step(long runSeed, long step) {
        return new SplittableRandom(runSeed ^ (step * STEP_MIX));
    }

    /** The generator that picks the problem of the {@code refills}-th refill of a question (DAPO dynamic sampling). */
    public static RandomGenerator refill(long runSeed, long step, int question, int refills) {
        return new SplittableRandom(runSeed ^ (step * STEP_MIX + question * QUESTION_MIX + refills));
    }

    /** The sampling seed of response slot {@code slot} of question {@code question} (groups of {@code groupSize}). */
    public static long responseSlot(long runSeed, long step, int question, int groupSize, int slot) {
        return runSeed * SLOT_RUN_STRIDE + step * SLOT_STEP_STRIDE + (long) question * groupSize + slot;
    }
}
