package ai.eapo.report;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class IntervalTest {

    @Test
    void aMeanOverFiveSeedsByHand() {
        // 1..5: mean 3, s = sqrt(2.5), se = sqrt(0.5); t(0.975, 4 df) = 2.776445 (printed tables: 2.776)
        Interval i = Interval.of(new double[]{1, 2, 3, 4, 5}, 0.95);
        double half = 2.776445 * Math.sqrt(0.5);
        assertEquals(3, i.mean(), 1e-12);
        assertEquals(3 - half, i.low(), 1e-5);
        assertEquals(3 + half, i.high(), 1e-5);
        assertEquals(5, i.n());
    }

    @Test
    void twoSeedsGiveTheWideTwelvePointSevenInterval() {
        // n = 2: t(0.975, 1 df) = 12.7062; values 0.4 and 0.6: s = 0.141421, se = 0.1
        Interval i = Interval.of(new double[]{0.4, 0.6}, 0.95);
        assertEquals(0.5 - 1.270620, i.low(), 1e-5);
        assertEquals(0.5 + 1.270620, i.high(), 1e-5);
    }

    @Test
    void aPairedDifferenceRemovesTheSeedsShare() {
        // Seeds move both methods alike; their differences 0.02, 0.03, 0.01, 0.02, 0.02 are tight around 0.02.
        double[] eapo = {0.52, 0.63, 0.41, 0.57, 0.49};
        double[] grpo = {0.50, 0.60, 0.40, 0.55, 0.47};
        Interval paired = Interval.pairedDifference(eapo, grpo, 0.95);
        // differences: mean 0.02, s = sqrt(0.0002 / 4) = 0.0070711, se = 0.0031623, half = 2.776445 * se = 0.0087798
        assertEquals(0.02, paired.mean(), 1e-12);
        assertEquals(0.02 - 0.0087798, paired.low(), 1e-6);
        assertTrue(paired.excludesZero());
        Interval eapoAlone = Interval.of(eapo, 0.95);
        Interval grpoAlone = Interval.of(grpo, 0.95);
        assertTrue(eapoAlone.low() < grpoAlone.high(), "unpaired, the two intervals overlap");
    }

    @Test
    void missingValuesAndBadInput() {
        Interval one = Interval.of(new double[]{0.3, Double.NaN}, 0.95);
        assertEquals(1, one.n());
        assertTrue(Double.isNaN(one.low()));
        assertEquals("30.0", one.percent());
        assertEquals("–", Interval.of(new double[0], 0.95).percent());
        assertFalse(Interval.of(new double[]{-1, 1}, 0.95).excludesZero());
        assertThrows(IllegalArgumentException.class, () -> Interval.of(new double[]{1, 2}, 1.5));
        assertThrows(IllegalArgumentException.class, () -> Interval.pairedDifference(new double[2], new double[3], 0.95));
        assertEquals("50.0 [-77.1, 177.1]", Interval.of(new double[]{0.4, 0.6}, 0.95).percent());
    }
}
