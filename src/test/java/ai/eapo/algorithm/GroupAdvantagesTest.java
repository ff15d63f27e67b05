package ai.eapo.algorithm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class GroupAdvantagesTest {

    private static final double EPSILON = 1e-6;
    private static final AdvantageOptions STD = new AdvantageOptions(AdvantageNorm.STD, EPSILON, false, 0, false);
    private static final AdvantageOptions NONE = new AdvantageOptions(AdvantageNorm.NONE, EPSILON, false, 0, false);

    @Test
    void stdNormUsesTheSampleStd() {
        // rewards 1,0,0,0: mean 1/4; squared deviations 9/16 + 3·1/16 = 3/4; sample var = (3/4)/3 = 1/4, std = 1/2.
        GroupAdvantages group = GroupAdvantages.of(new double[] {1, 0, 0, 0}, STD);
        double scale = 0.5 + EPSILON;
        assertArrayEquals(new double[] {0.75 / scale, -0.25 / scale, -0.25 / scale, -0.25 / scale},
                group.advantages(), 1e-12);
        assertFalse(group.uniform());
    }

    @Test
    void noneNormOnlyCentres() {
        GroupAdvantages group = GroupAdvantages.of(new double[] {1, 0, 1, 0.5}, NONE);
        assertArrayEquals(new double[] {0.375, -0.625, 0.375, -0.125}, group.advantages(), 1e-12);
    }

    @Test
    void uniformGroupIsFlaggedWithZeroAdvantages() {
        GroupAdvantages group = GroupAdvantages.of(new double[] {0.1, 0.1, 0.1}, STD);
        assertTrue(group.uniform());
        assertArrayEquals(new double[] {0, 0, 0}, group.advantages());
    }

    @Test
    void refusesGroupsTooSmallForAStdAndNonFiniteRewards() {
        assertThrows(IllegalArgumentException.class, () -> GroupAdvantages.of(new double[] {1}, STD));
        assertThrows(IllegalArgumentException.class, () -> GroupAdvantages.of(new double[] {1, Double.NaN}, STD));
    }

    @Test
    void returnedArrayIsACopy() {
        GroupAdvantages group = GroupAdvantages.of(new double[] {1, 0}, NONE);
        group.advantages()[0] = 42;
        assertArrayEquals(new double[] {0.5, -0.5}, group.advantages(), 1e-12);
    }
}
