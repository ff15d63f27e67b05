package ai.eapo.algorithm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ExperienceScheduleTest {

    private static final double TOLERANCE = 1e-12;

    @Test
    void linearFallsToZeroAtTAndStaysThere() {
        ExperienceSchedule schedule = new ExperienceSchedule(0.5, 100, ScheduleShape.LINEAR);
        assertEquals(0.5, schedule.ratioAt(0), TOLERANCE);
        assertEquals(0.375, schedule.ratioAt(25), TOLERANCE);
        assertEquals(0.25, schedule.ratioAt(50), TOLERANCE);
        assertEquals(0.0, schedule.ratioAt(100), TOLERANCE);
        assertEquals(0.0, schedule.ratioAt(250), TOLERANCE);
    }

    @Test
    void cosineFollowsHalfCosineThenZero() {
        ExperienceSchedule schedule = new ExperienceSchedule(0.8, 100, ScheduleShape.COSINE);
        assertEquals(0.8, schedule.ratioAt(0), TOLERANCE);
        assertEquals(0.8 * 0.5 * (1 + Math.cos(Math.PI * 0.25)), schedule.ratioAt(25), TOLERANCE);
        assertEquals(0.4, schedule.ratioAt(50), TOLERANCE);
        assertEquals(0.0, schedule.ratioAt(100), TOLERANCE);
        assertEquals(0.0, schedule.ratioAt(101), TOLERANCE);
    }

    @Test
    void constantNeverAnneals() {
        ExperienceSchedule schedule = new ExperienceSchedule(0.25, 10, ScheduleShape.CONSTANT);
        assertEquals(0.25, schedule.ratioAt(0), TOLERANCE);
        assertEquals(0.25, schedule.ratioAt(1_000_000), TOLERANCE);
        assertEquals(0.25, new ExperienceSchedule(0.25, 0, ScheduleShape.CONSTANT).ratioAt(0), TOLERANCE);
    }

    @Test
    void zeroAnnealStepsMeansNoExperienceFromTheFirstStep() {
        for (ScheduleShape shape : new ScheduleShape[] {ScheduleShape.LINEAR, ScheduleShape.COSINE}) {
            ExperienceSchedule schedule = new ExperienceSchedule(1.0, 0, shape);
            assertEquals(0.0, schedule.ratioAt(0), shape.configName());
            assertEquals(0, schedule.experienceCount(0, 8), shape.configName());
        }
    }

    @Test
    void experienceCountRoundsAlphaTimesGroupSize() {
        ExperienceSchedule schedule = new ExperienceSchedule(0.5, 100, ScheduleShape.LINEAR);
        assertEquals(4, schedule.experienceCount(0, 8));
        assertEquals(3, schedule.experienceCount(25, 8));   // 0.375 · 8 = 3
        assertEquals(2, schedule.experienceCount(50, 8));   // 0.25 · 8 = 2
        assertEquals(1, schedule.experienceCount(75, 8));   // 0.125 · 8 = 1
        assertEquals(1, schedule.experienceCount(75, 4));   // 0.125 · 4 = 0.5 rounds up
        assertEquals(0, schedule.experienceCount(90, 8));   // 0.05 · 8 = 0.4
        assertEquals(0, schedule.experienceCount(100, 8));
    }

    @Test
    void negativeStepIsRefused() {
        ExperienceSchedule schedule = new ExperienceSchedule(0.5, 100, ScheduleShape.LINEAR);
        assertThrows(IllegalArgumentException.class, () -> schedule.ratioAt(-1));
    }

    @Test
    void validationNamesKeyAndValue() {
        IllegalArgumentException ratio = assertThrows(IllegalArgumentException.class,
                () -> new ExperienceSchedule(1.5, 10, ScheduleShape.LINEAR).validate());
        assertTrue(ratio.getMessage().contains(ExperienceSchedule.KEY_INITIAL_RATIO + " = 1.5"), ratio.getMessage());
        IllegalArgumentException steps = assertThrows(IllegalArgumentException.class,
                () -> new ExperienceSchedule(0.5, -3, ScheduleShape.LINEAR).validate());
        assertTrue(steps.getMessage().contains(ExperienceSchedule.KEY_ANNEAL_STEPS + " = -3"), steps.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> new ExperienceSchedule(Double.NaN, 10, ScheduleShape.LINEAR).validate());
    }
}
