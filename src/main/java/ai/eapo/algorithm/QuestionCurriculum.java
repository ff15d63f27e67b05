package ai.eapo.algorithm;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.PriorityQueue;
import java.util.random.RandomGenerator;

/**
 * EXPO's Gaussian curriculum sampling over a dataset of N questions (ids 0..N−1). Each question keeps
 * a running accuracy from its rollout groups and is drawn with weight
 * {@code w_q = exp(−(acc_q − μ)² / (2σ²))}, so training concentrates on questions the model solves
 * about half of the time: those give groups with mixed rewards and thus a non-zero GRPO advantage,
 * while always-solved and never-solved questions give uniform groups and no gradient.
 *
 * <p>A question never observed is weighted as if its accuracy were
 * {@link CurriculumOptions#unseenAccuracy()}; its first observation replaces that assumption outright
 * (it is a prior guess, not evidence to average with), later observations are blended with
 * {@link CurriculumOptions#smoothing()}.
 *
 * <p>Not thread-safe: one owner observes and selects.
 */
public final class QuestionCurriculum {

    /** Version of the {@link #writeTo} layout: int version, int N, then N doubles (NaN = unseen). */
    static final int FORMAT_VERSION = 1;

    private final CurriculumOptions options;
    /** Running accuracy per question; NaN marks a question never observed. */
    private final double[] accuracy;
    private int seen;

    /**
     * A curriculum with every question unseen.
     *
     * @throws IllegalArgumentException when {@code questions} &lt; 1 or the options are invalid
     */
    public QuestionCurriculum(int questions, CurriculumOptions options) {
        if (questions < 1) {
            throw new IllegalArgumentException("question count = " + questions + ": must be >= 1");
        }
        Objects.requireNonNull(options, "curriculum options").validate();
        this.options = options;
        this.accuracy = new double[questions];
        Arrays.fill(accuracy, Double.NaN);
    }

    /** N, the number of questions. */
    public int questions() {
        return accuracy.length;
    }

    /**
     * A curriculum with these running accuracies (NaN = never observed), e.g. a snapshot of another one.
     *
     * @throws IllegalArgumentException when there are none, or one is outside [0, 1] (the message names it)
     */
    public static QuestionCurriculum of(double[] accuracies, CurriculumOptions options) {
        QuestionCurriculum curriculum = new QuestionCurriculum(accuracies.length, options);
        for (int q = 0; q < accuracies.length; q++) {
            if (!Double.isNaN(accuracies[q])) {
                if (!(accuracies[q] >= 0.0 && accuracies[q] <= 1.0)) {
                    throw new IllegalArgumentException("accuracy of question " + q + " = " + accuracies[q]
                            + ": must be in [0, 1]");
                }
                curriculum.accuracy[q] = accuracies[q];
                curriculum.seen++;
            }
        }
        return curriculum;
    }

    /** A copy of the running accuracies, NaN for the questions never observed. */
    public double[] accuracies() {
        return accuracy.clone();
    }

    /** How many questions have been observed at least once. */
    public int seen() {
        return seen;
    }

    /** The running accuracy of question q, NaN while it has never been observed. */
    public double runningAccuracy(int question) {
        return accuracy[Objects.checkIndex(question, accuracy.length)];
    }

    /**
     * Records the accuracy of a new rollout group of {@code question} (fraction of correct responses).
     *
     * @throws IllegalArgumentException when the accuracy is not in [0, 1] (the message names it)
     * @throws IndexOutOfBoundsException when the question id is not in [0, N)
     */
    public void observe(int question, double groupAccuracy) {
        Objects.checkIndex(question, accuracy.length);
        if (!(groupAccuracy >= 0.0 && groupAccuracy <= 1.0)) {
            throw new IllegalArgumentException("accuracy of question " + question + " = " + groupAccuracy
                    + ": must be in [0, 1]");
        }
        if (Double.isNaN(accuracy[question])) {
            accuracy[question] = groupAccuracy;
            seen++;
        } else {
            double s = options.smoothing();
            // Written as a convex combination so that s = 1 yields exactly the observation; the min
            // guards against the last-bit rounding that could otherwise leave [0, 1].
            accuracy[question] = Math.min(1.0, (1.0 - s) * accuracy[question] + s * groupAccuracy);
        }
    }

    /** The sampling weight {@code exp(−(acc − μ)² / (2σ²))} of question q, in [0, 1]; 1 at acc = μ. */
    public double weight(int question) {
        return Math.exp(logWeight(Objects.checkIndex(question, accuracy.length)));
    }

    /**
     * Draws {@code count} distinct questions without replacement, each draw with probability
     * proportional to the weights of the questions not yet drawn, and returns them in draw order (so
     * the first element is question q with probability {@code w_q / Σ w}).
     *
     * <p>Efraimidis–Spirakis (2006): give each question the key {@code u^(1/w)} with u uniform in
     * (0, 1) and keep the {@code count} largest. The keys are compared through the strictly increasing
     * transform {@code −log(−log(u)/w) = log w − log(−log u)} (the Gumbel-top-k form), which orders them
     * identically but stays finite even when w underflows to 0 for a very narrow σ. One uniform number is
     * drawn per question in id order, so the result is a function of the generator's state; equal keys
     * go to the lower id. A heap bounded by {@code count} makes it O(N log count).
     *
     * @throws IllegalArgumentException when {@code count} is negative or exceeds N
     */
    public List<Integer> select(int count, RandomGenerator rng) {
        if (count < 0 || count > accuracy.length) {
            throw new IllegalArgumentException("cannot select " + count + " distinct questions out of "
                    + accuracy.length);
        }
        if (count == 0) {
            return new ArrayList<>();
        }
        double[] keys = new double[accuracy.length];
        // Head = the worst kept question: smallest key, and among equal keys the higher id.
        Comparator<Integer> worseFirst = (a, b) -> {
            int byKey = Double.compare(keys[a], keys[b]);
            return byKey != 0 ? byKey : Integer.compare(b, a);
        };
        PriorityQueue<Integer> kept = new PriorityQueue<>(count, worseFirst);
        for (int q = 0; q < accuracy.length; q++) {
            double u = rng.nextDouble(Double.MIN_VALUE, 1.0); // (0, 1): both logs finite
            keys[q] = logWeight(q) - Math.log(-Math.log(u));
            if (kept.size() < count) {
                kept.add(q);
            } else if (worseFirst.compare(kept.peek(), q) < 0) {
                kept.poll();
                kept.add(q);
            }
        }
        List<Integer> drawn = new ArrayList<>(count);
        while (!kept.isEmpty()) {
            drawn.add(kept.poll());
        }
        Collections.reverse(drawn);
        return drawn;
    }

    /** Writes the running accuracies (not the options, which come from the configuration on resume). */
    public void writeTo(DataOutputStream out) throws IOException {
        out.writeInt(FORMAT_VERSION);
        out.writeInt(accuracy.length);
        for (double value : accuracy) {
            out.writeDouble(value);
        }
    }

    /**
     * Reads a curriculum written by {@link #writeTo}. The caller checks {@link #questions()} against
     * its dataset: the stream alone cannot know which dataset it belongs to.
     *
     * @throws IOException when the format version is not {@value #FORMAT_VERSION}, the stored question
     *     count is not positive, the stream ends early, or a stored accuracy is outside [0, 1]
     */
    public static QuestionCurriculum readFrom(DataInputStream in, CurriculumOptions options) throws IOException {
        int version = in.readInt();
        if (version != FORMAT_VERSION) {
            throw new IOException("question curriculum state has format version " + version
                    + ", this build reads version " + FORMAT_VERSION);
        }
        int questions = in.readInt();
        if (questions < 1) {
            throw new IOException("question curriculum state has question count " + questions + ", must be >= 1");
        }
        double[] accuracies = new double[questions];
        for (int q = 0; q < questions; q++) {
            try {
                accuracies[q] = in.readDouble();
            } catch (EOFException e) {
                throw new IOException("question curriculum state is truncated: " + questions
                        + " accuracies announced, " + q + " present", e);
            }
        }
        try {
            return of(accuracies, options);
        } catch (IllegalArgumentException e) {
            throw new IOException("question curriculum state is corrupt: " + e.getMessage(), e);
        }
    }

    /** log w_q; finite for every σ &gt; 0, unlike w_q itself, which underflows for a very narrow σ. */
    private double logWeight(int question) {
        double value = accuracy[question];
        double acc = Double.isNaN(value) ? options.unseenAccuracy() : value;
        double distance = acc - options.mean();
        return -distance * distance / (2.0 * options.sigma() * options.sigma());
    }
}
