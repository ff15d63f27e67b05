package ai.eapo.algorithm;

/**
 * Evaluation metrics over n samples per problem, c of them correct. {@link #passAtK} is the unbiased
 * estimator of pass@k (Chen et al. 2021, "Evaluating Large Language Models Trained on Code"): the chance
 * that at least one of k samples drawn without replacement from the n is correct,
 * {@code 1 - C(n-c, k) / C(n, k)}, computed as the product {@code 1 - prod_{i=n-c+1..n} (1 - k/i)}, which
 * needs no binomial coefficients and stays accurate for large n. {@link #meanAtN} is c/n, the expected
 * accuracy of one sample.
 */
public final class PassAtK {

    private PassAtK() {
    }

    /**
     * Unbiased pass@k of one problem.
     *
     * @throws IllegalArgumentException when n < 1, c is outside [0, n], k < 1 or k > n (the message names them)
     */
    public static double passAtK(int n, int c, int k) {
        check(n, c);
        if (k < 1) {
            throw new IllegalArgumentException("k = " + k + ": must be >= 1");
        }
        if (k > n) {
            throw new IllegalArgumentException("k = " + k + " exceeds n = " + n + " samples per problem");
        }
        if (n - c < k) {
            return 1.0; // every k-subset holds a correct sample
        }
        double allWrong = 1.0;
        for (int i = n - c + 1; i <= n; i++) {
            allWrong *= 1.0 - (double) k / i;
        }
        return 1.0 - allWrong;
    }

    /** c/n of one problem. */
    public static double meanAtN(int n, int c) {
        check(n, c);
        return (double) c / n;
    }

    /** pass@k averaged over problems ({@code n[i]} samples, {@code c[i]} correct); NaN for no problems. */
    public static double passAtK(int[] n, int[] c, int k) {
        sameLength(n, c);
        double sum = 0;
        for (int i = 0; i < n.length; i++) {
            sum += passAtK(n[i], c[i], k);
        }
        return n.length == 0 ? Double.NaN : sum / n.length;
    }

    /** mean@n averaged over problems (each problem weighs the same); NaN for no problems. */
    public static double meanAtN(int[] n, int[] c) {
        sameLength(n, c);
        double sum = 0;
        for (int i = 0; i < n.length; i++) {
            sum += meanAtN(n[i], c[i]);
        }
        return n.length == 0 ? Double.NaN : sum / n.length;
    }

    private static void check(int n, int c) {
        if (n < 1) {
            throw new IllegalArgumentException("n = " + n + ": must be >= 1");
        }
        if (c < 0 || c > n) {
            throw new IllegalArgumentException("c = " + c + ": must be in [0, n = " + n + "]");
        }
    }

    private static void sameLength(int[] n, int[] c) {
        if (n.length != c.length) {
            throw new IllegalArgumentException(n.length + " sample counts but " + c.length + " correct counts");
        }
    }
}
