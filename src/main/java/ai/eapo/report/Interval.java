package ai.eapo.report;

import org.apache.commons.math3.distribution.TDistribution;

import java.util.Arrays;
import java.util.Locale;

/**
 * A mean over seeds with its two-sided confidence interval from Student's t distribution (n − 1 degrees of
 * freedom): mean ± t · s / √n. For a difference between two methods run with the same seeds, the interval of the
 * per-seed differences (paired), which removes what the seed does to both. Non-finite values are left out; with
 * fewer than two values the interval is unknown (NaN bounds).
 */
public record Interval(double mean, double low, double high, int n) {

    /** The confidence the tables report. */
    public static final double CONFIDENCE_95 = 0.95;

    /** The mean of {@code values} and its {@code confidence} interval. */
    public static Interval of(double[] values, double confidence) {
        if (!(confidence > 0 && confidence < 1)) {
            throw new IllegalArgumentException("confidence must lie in (0, 1), got " + confidence);
        }
        double[] finite = Arrays.stream(values).filter(Double::isFinite).toArray();
        int n = finite.length;
        if (n == 0) {
            return new Interval(Double.NaN, Double.NaN, Double.NaN, 0);
        }
        double mean = Arrays.stream(finite).average().orElseThrow();
        if (n < 2) {
            return new Interval(mean, Double.NaN, Double.NaN, 1);
        }
        double variance = Arrays.stream(finite).map(v -> (v - mean) * (v - mean)).sum() / (n - 1);
        double t = new TDistribution(n - 1).inverseCumulativeProbability(0.5 + confidence / 2);
        double half = t * Math.sqrt(variance / n);
        return new Interval(mean, mean - half, mean + half, n);
    }

    /**
     * The mean of {@code a[i] − b[i]} over the seeds i where both are finite, and its interval: {@code a} and
     * {@code b} must be the same seeds in the same order.
     */
    public static Interval pairedDifference(double[] a, double[] b, double confidence) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("paired values need the same seeds: " + a.length + " and " + b.length);
        }
        double[] differences = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            differences[i] = Double.isFinite(a[i]) && Double.isFinite(b[i]) ? a[i] - b[i] : Double.NaN;
        }
        return of(differences, confidence);
    }

    /** Whether the interval excludes 0 (a difference the seeds resolve). */
    public boolean excludesZero() {
        return low > 0 || high < 0;
    }

    /** As percentage points, "mean [low, high]" ("–" when there is no value). */
    public String percent() {
        return format(100, "%.1f");
    }

    /**
     * The values times {@code scale}, each in {@code format}: "mean [low, high]", the mean alone for one value,
     * "–" for none.
     */
    public String format(double scale, String format) {
        if (n == 0) {
            return "–";
        }
        String m = String.format(Locale.ROOT, format, scale * mean);
        return n < 2 ? m : m + String.format(Locale.ROOT, " [" + format + ", " + format + "]", scale * low, scale * high);
    }
}
