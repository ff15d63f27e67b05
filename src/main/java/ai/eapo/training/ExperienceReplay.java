package ai.eapo.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.eapo.algorithm.AdvantageOptions;
import ai.eapo.algorithm.ReplayOptions;
import ai.eapo.model.Generator.Completion;
import ai.eapo.model.PolicyModel;
import ai.eapo.model.SoftmaxEntropy;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SortedMap;

/**
 * The learner's side of ExGRPO (Zhan et al. 2025; spec section 5): it completes each experiential group (G − 1 new
 * rollouts of a question drawn from the buffer) with the stored correct trajectory of lowest entropy under the
 * current policy, then records every group's correct responses in the {@link ReplayBuffer}. Replay starts once a
 * step's batch Pass@1 exceeds {@code start-accuracy} (delayed start) and stays on. The buffer and that switch are
 * part of the learner checkpoint.
 */
public final class ExperienceReplay {

    /**
     * What metrics.jsonl reports of the buffer after a step: whether replay has started, the questions holding
     * trajectories and their number by latest accuracy (the buckets), the trajectories stored, the retired
     * questions, and how many groups of the step were completed by a replayed trajectory (the hits).
     */
    public record Stats(boolean active, int questions, SortedMap<Double, Integer> buckets, int trajectories,
                        int retired, int replayed) {
    }

    private final ReplayBuffer buffer;
    private final float temperature;
    private final int logitsChunk;
    private boolean active;
    private int replayedLastStep;

    /**
     * {@code temperature}: the sampling temperature, under which trajectory entropies are measured, {@code
     * logitsChunk} positions at a time.
     */
    public ExperienceReplay(ReplayOptions options, float temperature, int logitsChunk) {
        this(new ReplayBuffer(options), temperature, logitsChunk, false);
    }

    private ExperienceReplay(ReplayBuffer buffer, float temperature, int logitsChunk, boolean active) {
        this.logitsChunk = logitsChunk;
        this.buffer = buffer;
        this.temperature = temperature;
        this.active = active;
    }

    /** Whether experiential questions are being served (the delayed start has passed). */
    public boolean active() {
        return active;
    }

    /** The questions the PromptSource may draw as experiential, with their latest accuracy; empty until active. */
    public SortedMap<Integer, Double> candidates() {
        return active ? buffer.candidates() : new java.util.TreeMap<>();
    }

    /**
     * The step's groups with each experiential one (one response short of {@code groupSize}) completed by its
     * replayed trajectory (reward 1, with the penalty it got when generated) and its advantages recomputed over the
     * whole group, the fresh rollouts keeping their penalties. A question whose stored
     * trajectories were evicted meanwhile trains on its new rollouts alone.
     */
    public List<ScoredGroup> complete(List<ScoredGroup> groups, PolicyModel policy, int groupSize,
                                      AdvantageOptions options) {
        List<ScoredGroup> out = new ArrayList<>(groups.size());
        replayedLastStep = 0;
        for (ScoredGroup g : groups) {
            List<ReplayBuffer.Stored> stored = g.responses().size() == groupSize - 1
                    ? buffer.trajectories(g.problemId()) : List.of();
            if (stored.isEmpty()) {
                out.add(g);
                continue;
            }
            ReplayBuffer.Stored replay = lowestEntropy(policy, stored);
            out.add(g.withReplayed(asCompletion(replay), replay.penalty(), options));
            replayedLastStep++;
        }
        return out;
    }

    /**
     * Records the step's groups (their new rollouts only) in the buffer and switches replay on once the batch's
     * Pass@1 exceeds the start accuracy.
     */
    public void record(List<ScoredGroup> groups, long step) {
        for (ScoredGroup g : groups) {
            List<ReplayBuffer.Stored> correct = new ArrayList<>();
            int rollouts = 0;
            for (int j = 0; j < g.responses().size(); j++) {
                if (!g.generated(j)) {
                    continue;
                }
                rollouts++;
                if (ScoredGroup.isCorrect(g.rewards()[j])) {
                    Completion c = g.responses().get(j);
                    correct.add(new ReplayBuffer.Stored(g.prompt(), c.tokens(), c.logProbs(),
                            Arrays.stream(c.weightVersions()).min().orElse(step), g.penalties()[j]));
                }
            }
            buffer.record(g.problemId(), correct.size(), rollouts, correct, step);
        }
        // NaN (no generated response) never starts it.
        if (!active && ScoredGroup.accuracy(groups) > buffer.options().startAccuracy()) {
            active = true;
        }
    }

    public Stats stats() {
        return new Stats(active, buffer.size(), buffer.bucketSizes(), buffer.trajectoryCount(), buffer.retiredCount(),
                replayedLastStep);
    }

    /** The stored trajectory whose mean token entropy under {@code policy} is lowest (ExGRPO's trajectory choice). */
    ReplayBuffer.Stored lowestEntropy(PolicyModel policy, List<ReplayBuffer.Stored> candidates) {
        ReplayBuffer.Stored best = null;
        double bestEntropy = Double.POSITIVE_INFINITY;
        for (ReplayBuffer.Stored s : candidates) {
            double entropy = meanEntropy(policy, s);
            if (entropy < bestEntropy) {
                best = s;
                bestEntropy = entropy;
            }
        }
        return best;
    }

    /** Mean over the response tokens of the policy's next-token entropy at each of them. */
    double meanEntropy(PolicyModel policy, ReplayBuffer.Stored s) {
        long[] ids = new long[s.prompt().length + s.tokens().length - 1];
        System.arraycopy(s.prompt(), 0, ids, 0, s.prompt().length);
        System.arraycopy(s.tokens(), 0, ids, s.prompt().length, s.tokens().length - 1);
        double[] sum = new double[1];
        try (NDManager m = NDManager.newBaseManager(policy.device())) {
            // Position prompt−1+i predicts response token i.
            policy.forEachLogitsChunk(m.create(ids, new Shape(1, ids.length)), s.prompt().length - 1, logitsChunk,
                    logits -> sum[0] += SoftmaxEntropy.ofRows(logits.squeeze(0), temperature).sum().getFloat());
        }
        return sum[0] / s.tokens().length;
    }

    private static Completion asCompletion(ReplayBuffer.Stored s) {
        int n = s.tokens().length;
        long[] versions = new long[n];
        Arrays.fill(versions, s.version());
        // The buffer keeps what the update needs; kept mass and entropies were not stored (a replayed trajectory
        // counts in no step metric).
        float[] notStored = new float[n];
        Arrays.fill(notStored, Float.NaN);
        return new Completion(-1, s.tokens(), s.behaviourLogProbs(), s.behaviourLogProbs(), notStored, new float[n],
                new boolean[n], versions, true, false);
    }

    /** Saves the buffer and the delayed-start switch (part of the learner checkpoint). */
    public void writeTo(DataOutputStream out) throws IOException {
        out.writeBoolean(active);
        buffer.writeTo(out);
    }

    /** The replay state saved by {@link #writeTo}, with this replay's options and temperature. */
    public ExperienceReplay readSaved(DataInputStream in) throws IOException {
        boolean active = in.readBoolean();
        return new ExperienceReplay(ReplayBuffer.readFrom(in, buffer.options()), temperature, logitsChunk, active);
    }
}
