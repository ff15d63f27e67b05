package ai.eapo.algorithm;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.random.RandomGenerator;

/**
 * ExGRPO's draw of experiential questions (spec §5, {@code exgrpo-*.txt} §4.1): questions of the replay buffer,
 * biased to medium difficulty by a Gaussian weight of their latest accuracy.
 */
public final class ReplaySampling {

    private ReplaySampling() {
    }

    /** exp(−(acc − μ)² / (2σ²)): the Gaussian density N(acc; μ, σ) up to its constant, 1 at acc = μ. */
    public static double weight(double accuracy, ReplayOptions options) {
        return Math.exp(logWeight(accuracy, options));
    }

    private static double logWeight(double accuracy, ReplayOptions options) {
        double deviation = accuracy - options.samplingMean();
        double sigma = options.samplingSigma();
        return -deviation * deviation / (2.0 * sigma * sigma);
    }

    /**
     * Draws {@code count} distinct questions of {@code candidates} (question → latest accuracy; fewer if there are
     * fewer), without replacement, each draw with probability ∝ {@link #weight} of the question's latest accuracy
     * among those not yet drawn; returned in draw order.
     *
     * <p>Efraimidis–Spirakis: each question gets the key u^(1/w) with u uniform, and the {@code count}
     * largest keys are exactly a successive weighted draw without replacement. The keys are ranked in log
     * space, by log w − log(−log u) (a monotone transform of u^(1/w)), so that weights that underflow to 0
     * for a small σ still rank correctly. One uniform per candidate, in id order: deterministic given
     * {@code rng}.
     */
    public static List<Integer> sample(SortedMap<Integer, Double> candidates, int count, RandomGenerator rng,
                                       ReplayOptions options) {
        if (count < 0) {
            throw new IllegalArgumentException("sample count must be >= 0, got " + count);
        }
        record Keyed(int id, double key) {
        }
        List<Keyed> keyed = new ArrayList<>(candidates.size());
        for (Map.Entry<Integer, Double> candidate : candidates.entrySet()) {
            double u = rng.nextDouble();
            keyed.add(new Keyed(candidate.getKey(), logWeight(candidate.getValue(), options) - Math.log(-Math.log(u))));
        }
        // Stable sort: equal keys (measure zero) keep id order.
        keyed.sort(Comparator.comparingDouble(Keyed::key).reversed());
        List<Integer> drawn = new ArrayList<>(Math.min(count, keyed.size()));
        for (int i = 0; i < count && i < keyed.size(); i++) {
            drawn.add(keyed.get(i).id());
        }
        return drawn;
    }
}
