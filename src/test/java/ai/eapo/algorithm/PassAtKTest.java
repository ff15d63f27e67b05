package ai.eapo.algorithm;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The unbiased pass@k estimator against brute force over subsets, and its edge cases. */
class PassAtKTest {

    /** Share of the k-subsets of n samples (the first c correct) that hold a correct sample, by enumeration. */
    static double bruteForce(int n, int c, int k) {
        long subsets = 0;
        long hit = 0;
        for (int mask = 0; mask < (1 << n); mask++) {
            if (Integer.bitCount(mask) != k) {
                continue;
            }
            subsets++;
            if ((mask & ((1 << c) - 1)) != 0) {
                hit++;
            }
        }
        return (double) hit / subsets;
    }

    @Test
    void equalsBruteForceOverSubsets() {
        for (int n = 1; n <= 12; n++) {
            for (int c = 0; c <= n; c++) {
                for (int k = 1; k <= n; k++) {
                    assertEquals(bruteForce(n, c, k), PassAtK.passAtK(n, c, k), 1e-12, "n=" + n + " c=" + c + " k=" + k);
                }
            }
        }
    }

    @Test
    void exactSmallCases() {
        assertEquals(0.5, PassAtK.passAtK(2, 1, 1), 1e-15);
        assertEquals(1.0, PassAtK.passAtK(2, 1, 2), 1e-15);
        assertEquals(1.0 - 3.0 / 6.0, PassAtK.passAtK(4, 1, 2), 1e-15); // C(3,2)/C(4,2) = 3/6
        assertEquals(1.0 - 1.0 / 6.0, PassAtK.passAtK(4, 2, 2), 1e-15); // C(2,2)/C(4,2) = 1/6
        assertEquals(1.0 - 10.0 / 35.0, PassAtK.passAtK(7, 2, 3), 1e-15); // C(5,3)/C(7,3)
    }

    @Test
    void passAtOneIsTheShareCorrect() {
        for (int n = 1; n <= 64; n++) {
            for (int c = 0; c <= n; c++) {
                assertEquals((double) c / n, PassAtK.passAtK(n, c, 1), 1e-12);
                assertEquals((double) c / n, PassAtK.meanAtN(n, c), 0);
            }
        }
    }

    @Test
    void kEqualsNIsAnyCorrect() {
        for (int n = 1; n <= 40; n++) {
            assertEquals(0.0, PassAtK.passAtK(n, 0, n), 0);
            for (int c = 1; c <= n; c++) {
                assertEquals(1.0, PassAtK.passAtK(n, c, n), 0);
            }
        }
    }

    @Test
    void noneCorrectIsZeroAndAllCorrectIsOne() {
        for (int n : new int[]{1, 2, 8, 32, 1000}) {
            for (int k : new int[]{1, 2, 8, 32}) {
                if (k <= n) {
                    assertEquals(0.0, PassAtK.passAtK(n, 0, k), 0);
                    assertEquals(1.0, PassAtK.passAtK(n, n, k), 0);
                }
            }
        }
    }

    @Test
    void monotoneInKAndInC() {
        for (int n : new int[]{5, 16, 100, 1024}) {
            for (int c = 0; c <= n; c += Math.max(1, n / 20)) {
                double previous = -1;
                for (int k = 1; k <= n; k++) {
                    double p = PassAtK.passAtK(n, c, k);
                    assertTrue(p >= previous - 1e-12, "n=" + n + " c=" + c + " k=" + k);
                    assertTrue(p >= 0 && p <= 1);
                    previous = p;
                }
            }
            for (int k = 1; k <= n; k += Math.max(1, n / 10)) {
                double previous = -1;
                for (int c = 0; c <= n; c++) {
                    double p = PassAtK.passAtK(n, c, k);
                    assertTrue(p >= previous - 1e-12, "n=" + n + " k=" + k + " c=" + c);
                    previous = p;
                }
            }
        }
    }

    @Test
    void largeNStaysAccurate() {
        // C(n-c,k)/C(n,k) with n = 10,000 overflows any direct binomial; the product form does not.
        double p = PassAtK.passAtK(10_000, 1, 32);
        assertEquals(32.0 / 10_000, p, 1e-15);
        double q = PassAtK.passAtK(10_000, 100, 32);
        double direct = 1.0;
        for (int i = 0; i < 32; i++) {
            direct *= (double) (10_000 - 100 - i) / (10_000 - i);
        }
        assertEquals(1.0 - direct, q, 1e-12);
    }

    @Test
    void averagesOverProblems() {
        int[] n = {4, 4, 4};
        int[] c = {0, 2, 4};
        assertEquals(0.5, PassAtK.meanAtN(n, c), 1e-15);
        assertEquals(0.5, PassAtK.passAtK(n, c, 1), 1e-15);
        assertEquals((0 + (1 - 1.0 / 6.0) + 1) / 3, PassAtK.passAtK(n, c, 2), 1e-15);
        assertTrue(Double.isNaN(PassAtK.passAtK(new int[0], new int[0], 1)));
    }

    @Test
    void badArgumentsNameTheValues() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PassAtK.passAtK(4, 1, 8));
        assertTrue(e.getMessage().contains("k = 8") && e.getMessage().contains("n = 4"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> PassAtK.passAtK(4, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> PassAtK.passAtK(0, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> PassAtK.passAtK(4, 5, 1));
        assertThrows(IllegalArgumentException.class, () -> PassAtK.passAtK(4, -1, 1));
        assertThrows(IllegalArgumentException.class, () -> PassAtK.meanAtN(new int[]{1}, new int[]{1, 0}));
    }
}
