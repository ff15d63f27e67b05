package ai.eapo.training;

import ai.eapo.algorithm.ReplayOptions;
import ai.eapo.algorithm.ReplaySampling;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.random.RandomGenerator;

/**
 * ExGRPO's experience buffer (spec §5, {@code exgrpo-*.txt} §4.1): the correct trajectories of each training
 * question, bucketed by the question's latest group accuracy, from which experiential questions are sampled
 * with a bias to medium difficulty.
 *
 * <p>Rules, in the order {@link #record} applies them:
 * <ul>
 *   <li>A question's latest accuracy is correct / groupSize of its most recent group; its bucket is that
 *       accuracy. Accuracies are remembered for every recorded question, holding trajectories or not.</li>
 *   <li>Retirement: a group with every response correct (accuracy 1) retires the question: its trajectories
 *       are dropped and it is never sampled or stored again (later records of it are ignored), because a
 *       solved question carries no GRPO signal and replaying it would only sharpen what is already learnt.</li>
 *   <li>Per-question cap: new correct trajectories are appended; only the newest
 *       {@link ReplayOptions#maxPerQuestion()} are kept, the oldest evicted first (within one record, later
 *       list elements count as newer). A group with no correct response keeps the older trajectories.</li>
 *   <li>Question cap: while more than {@link ReplayOptions#maxQuestions()} questions hold trajectories,
 *       the whole question whose last {@code record} step is oldest is evicted (ties: the lowest question
 *       id). Its trajectories go, its latest accuracy is kept, and a later correct group stores it anew.</li>
 * </ul>
 *
 * <p>Everything iterates questions in id order (sorted maps), so sampling depends only on the state and the
 * random generator, never on hash order, and a buffer reloaded by {@link #readFrom} samples identically.
 * Pure Java and not thread-safe: it has one owner, the Learner.
 */
public final class ReplayBuffer {

    /** First int of {@link #writeTo}'s output; bump it whenever the layout changes. */
    public static final int FORMAT_VERSION = 2;

    /** The layout before trajectories carried their reward penalty; read with penalty 0 (what it meant then). */
    private static final int FORMAT_WITHOUT_PENALTY = 1;

    /**
     * One stored correct trajectory. The buffer keeps its own copies of the arrays given; the accessors
     * return those copies, which callers must treat as read-only. Equality is by content.
     *
     * @param prompt the prompt tokens
     * @param tokens the response tokens
     * @param behaviourLogProbs log-probability of each response token under the policy that generated it
     *     (π_θpast, the denominator of the replayed trajectory's importance ratio)
     * @param version the weight version of that policy
     * @param penalty the reward penalty (≤ 0, DAPO's overlong penalty; 0 when off) it got when it was generated,
     *     which it carries into the groups that replay it
     */
    public record Stored(long[] prompt, long[] tokens, float[] behaviourLogProbs, long version, double penalty) {

        public Stored {
            Objects.requireNonNull(prompt, "prompt");
            Objects.requireNonNull(tokens, "tokens");
            Objects.requireNonNull(behaviourLogProbs, "behaviourLogProbs");
            if (tokens.length != behaviourLogProbs.length) {
                throw new IllegalArgumentException("a stored trajectory needs one behaviour log-prob per response"
                        + " token: " + tokens.length + " tokens, " + behaviourLogProbs.length + " log-probs");
            }
            if (!(penalty <= 0.0)) {
                throw new IllegalArgumentException("a stored trajectory's reward penalty must be <= 0, got " + penalty);
            }
            prompt = prompt.clone();
            tokens = tokens.clone();
            behaviourLogProbs = behaviourLogProbs.clone();
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof Stored s && version == s.version && Double.compare(penalty, s.penalty) == 0
                    && Arrays.equals(prompt, s.prompt)
                    && Arrays.equals(tokens, s.tokens) && Arrays.equals(behaviourLogProbs, s.behaviourLogProbs);
        }

        @Override
        public int hashCode() {
            int h = 31 * Long.hashCode(version) + Double.hashCode(penalty);
            h = 31 * h + Arrays.hashCode(prompt);
            h = 31 * h + Arrays.hashCode(tokens);
            return 31 * h + Arrays.hashCode(behaviourLogProbs);
        }

        @Override
        public String toString() {
            return "Stored[prompt=" + prompt.length + " tokens, response=" + tokens.length + " tokens, version="
                    + version + "]";
        }
    }

    /** The most recent group of a question: its accuracy and the learner step that recorded it. */
    private record Latest(double accuracy, long step) {
    }

    private final ReplayOptions options;
    /** Every recorded question that is not retired. */
    private final TreeMap<Integer, Latest> latest = new TreeMap<>();
    /** The questions holding at least one trajectory (a subset of {@link #latest}'s keys), oldest first. */
    private final TreeMap<Integer, Deque<Stored>> stored = new TreeMap<>();
    private final TreeSet<Integer> retired = new TreeSet<>();

    /** An empty buffer; {@code options} is validated. */
    public ReplayBuffer(ReplayOptions options) {
        options.validate();
        this.options = options;
    }

    public ReplayOptions options() {
        return options;
    }

    /**
     * Records the latest group of question {@code questionId}: {@code correct} of {@code groupSize}
     * responses were correct, and {@code correctResponses} are the correct ones to store (possibly fewer
     * than {@code correct}, if the caller keeps only some). See the class comment for the rules.
     *
     * @param step the learner step of this group; the question cap evicts the oldest-recorded question
     * @throws IllegalArgumentException if the counts are inconsistent
     */
    public void record(int questionId, int correct, int groupSize, List<Stored> correctResponses, long step) {
        if (groupSize < 1 || correct < 0 || correct > groupSize) {
            throw new IllegalArgumentException("question " + questionId + ": " + correct + " correct of a group of "
                    + groupSize + " (need 0 <= correct <= groupSize, groupSize >= 1)");
        }
        if (correctResponses.size() > correct) {
            throw new IllegalArgumentException("question " + questionId + ": " + correctResponses.size()
                    + " correct responses given but only " + correct + " counted correct");
        }
        if (retired.contains(questionId)) {
            return;
        }
        if (correct == groupSize) {
            retire(questionId);
            return;
        }
        latest.put(questionId, new Latest((double) correct / groupSize, step));
        for (Stored response : correctResponses) {
            append(questionId, Objects.requireNonNull(response, "correct response"));
        }
        enforceQuestionCap();
    }

    private void retire(int questionId) {
        latest.remove(questionId);
        stored.remove(questionId);
        retired.add(questionId);
    }

    /** Appends one trajectory, evicting the question's oldest beyond the per-question cap. */
    private void append(int questionId, Stored response) {
        Deque<Stored> trajectories = stored.computeIfAbsent(questionId, id -> new ArrayDeque<>());
        trajectories.addLast(response);
        while (trajectories.size() > options.maxPerQuestion()) {
            trajectories.removeFirst();
        }
    }

    /** Evicts whole questions, oldest last record first (ties: lowest id), down to the question cap. */
    private void enforceQuestionCap() {
        while (stored.size() > options.maxQuestions()) {
            int oldest = -1;
            long oldestStep = Long.MAX_VALUE;
            boolean found = false;
            for (int id : stored.keySet()) { // ascending id, and strict '<': the lowest id wins a tie
                long step = latest.get(id).step();
                if (!found || step < oldestStep) {
                    oldest = id;
                    oldestStep = step;
                    found = true;
                }
            }
            stored.remove(oldest);
        }
    }

    /** {@link ReplaySampling#weight} of {@code accuracy} under this buffer's options. */
    public double samplingWeight(double accuracy) {
        return ReplaySampling.weight(accuracy, options);
    }

    /** {@link ReplaySampling#sample} over this buffer's {@link #candidates()}. */
    public List<Integer> sample(int count, RandomGenerator rng) {
        return ReplaySampling.sample(candidates(), count, rng, options);
    }

    /** The questions that can be drawn (active, holding ≥ 1 trajectory) with their latest accuracy, by id. */
    public SortedMap<Integer, Double> candidates() {
        SortedMap<Integer, Double> candidates = new TreeMap<>();
        for (int id : stored.keySet()) {
            candidates.put(id, latest.get(id).accuracy());
        }
        return candidates;
    }

    /** Accuracy → number of active questions holding ≥ 1 trajectory with that latest accuracy. */
    public SortedMap<Double, Integer> bucketSizes() {
        SortedMap<Double, Integer> buckets = new TreeMap<>();
        for (int id : stored.keySet()) {
            buckets.merge(latest.get(id).accuracy(), 1, Integer::sum);
        }
        return buckets;
    }

    /** The stored trajectories of {@code questionId}, oldest first; empty if none (or retired). */
    public List<Stored> trajectories(int questionId) {
        Deque<Stored> trajectories = stored.get(questionId);
        return trajectories == null ? List.of() : Collections.unmodifiableList(new ArrayList<>(trajectories));
    }

    /** The latest accuracy of {@code questionId}: 1 if retired, NaN if never recorded. */
    public double accuracy(int questionId) {
        if (retired.contains(questionId)) {
            return 1.0;
        }
        Latest l = latest.get(questionId);
        return l == null ? Double.NaN : l.accuracy();
    }

    /** Number of questions holding at least one trajectory (the ones {@link #sample} can draw). */
    public int size() {
        return stored.size();
    }

    /** Number of stored trajectories over all questions. */
    public int trajectoryCount() {
        int n = 0;
        for (Deque<Stored> trajectories : stored.values()) {
            n += trajectories.size();
        }
        return n;
    }

    public int retiredCount() {
        return retired.size();
    }

    public boolean isRetired(int questionId) {
        return retired.contains(questionId);
    }

    /**
     * Writes the whole state for a checkpoint: {@link #FORMAT_VERSION}; the recorded questions (id,
     * accuracy, step, trajectories oldest first); the retired ids. The options are not written: the
     * checkpoint's configuration supplies them to {@link #readFrom}. Does not close {@code out}.
     */
    public void writeTo(DataOutputStream out) throws IOException {
        out.writeInt(FORMAT_VERSION);
        out.writeInt(latest.size());
        for (Map.Entry<Integer, Latest> entry : latest.entrySet()) {
            out.writeInt(entry.getKey());
            out.writeDouble(entry.getValue().accuracy());
            out.writeLong(entry.getValue().step());
            Deque<Stored> trajectories = stored.getOrDefault(entry.getKey(), new ArrayDeque<>());
            out.writeInt(trajectories.size());
            for (Stored s : trajectories) {
                writeStored(out, s);
            }
        }
        out.writeInt(retired.size());
        for (int id : retired) {
            out.writeInt(id);
        }
    }

    private static void writeStored(DataOutputStream out, Stored s) throws IOException {
        out.writeLong(s.version());
        out.writeDouble(s.penalty());
        writeLongs(out, s.prompt());
        writeLongs(out, s.tokens());
        out.writeInt(s.behaviourLogProbs().length);
        for (float f : s.behaviourLogProbs()) {
            out.writeFloat(f);
        }
    }

    private static void writeLongs(DataOutputStream out, long[] values) throws IOException {
        out.writeInt(values.length);
        for (long v : values) {
            out.writeLong(v);
        }
    }

    /**
     * Reads a buffer written by {@link #writeTo}. If {@code options} caps tighter than the writer's did,
     * the caps are applied as {@link #record} would (newest trajectories and most recently recorded
     * questions kept).
     *
     * @throws IOException on an unknown format version or inconsistent content (the message says which)
     */
    public static ReplayBuffer readFrom(DataInputStream in, ReplayOptions options) throws IOException {
        int format = in.readInt();
        if (format != FORMAT_VERSION && format != FORMAT_WITHOUT_PENALTY) {
            throw new IOException("replay buffer format version " + format + " is not supported (this build reads "
                    + FORMAT_VERSION + ")");
        }
        ReplayBuffer buffer = new ReplayBuffer(options);
        int questions = count(in, "question");
        for (int q = 0; q < questions; q++) {
            int id = in.readInt();
            double accuracy = in.readDouble();
            long step = in.readLong();
            if (!(accuracy >= 0.0 && accuracy < 1.0)) {
                throw new IOException("corrupt replay buffer: question " + id + " has accuracy " + accuracy
                        + " (an active question's must be in [0, 1))");
            }
            if (buffer.latest.put(id, new Latest(accuracy, step)) != null) {
                throw new IOException("corrupt replay buffer: question " + id + " appears twice");
            }
            int trajectories = count(in, "trajectory");
            for (int t = 0; t < trajectories; t++) {
                buffer.append(id, readStored(in, format));
            }
        }
        int retiredCount = count(in, "retired question");
        for (int r = 0; r < retiredCount; r++) {
            int id = in.readInt();
            if (buffer.latest.containsKey(id)) {
                throw new IOException("corrupt replay buffer: question " + id + " is both active and retired");
            }
            buffer.retired.add(id);
        }
        buffer.enforceQuestionCap();
        return buffer;
    }

    private static Stored readStored(DataInputStream in, int format) throws IOException {
        long version = in.readLong();
        double penalty = format == FORMAT_WITHOUT_PENALTY ? 0.0 : in.readDouble();
        long[] prompt = readLongs(in, "prompt token");
        long[] tokens = readLongs(in, "response token");
        float[] logProbs = new float[count(in, "log-prob")];
        for (int i = 0; i < logProbs.length; i++) {
            logProbs[i] = in.readFloat();
        }
        try {
            return new Stored(prompt, tokens, logProbs, version, penalty);
        } catch (IllegalArgumentException e) {
            throw new IOException("corrupt replay buffer: " + e.getMessage(), e);
        }
    }

    private static long[] readLongs(DataInputStream in, String what) throws IOException {
        long[] values = new long[count(in, what)];
        for (int i = 0; i < values.length; i++) {
            values[i] = in.readLong();
        }
        return values;
    }

    private static int count(DataInputStream in, String what) throws IOException {
        int n = in.readInt();
        if (n < 0) {
            throw new IOException("corrupt replay buffer: negative " + what + " count " + n);
        }
        return n;
    }
}
