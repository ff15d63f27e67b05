package ai.eapo.actors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.eapo.UserInputException;
import ai.eapo.algorithm.QuestionCurriculum;
import ai.eapo.algorithm.Strategies;
import ai.eapo.data.ProblemSet;
import ai.eapo.data.TrainingBatches;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** The PromptSource hands out each step's batch with its problems' places in the data, and refills on request. */
class PromptSourceTest {

    static final ActorTestKit KIT = ActorTestKit.create(SamplerTest.testConfig());
    static final List<ProblemSet.Problem> DATA = IntStream.range(0, 50)
            .mapToObj(i -> new ProblemSet.Problem("Compute " + i + "+1.", Integer.toString(i + 1), "", "1")).toList();
    static final long SEED = 11;

    @AfterAll
    static void shutdown() {
        KIT.shutdownTestKit();
    }

    private static List<GroupTask> request(ActorRef<PromptSource.Command> source, TestProbe<Sampler.Command> sampler, int max) {
        source.tell(new PromptSource.RequestGroups(max, sampler.ref()));
        return sampler.expectMessageClass(Sampler.Assigned.class).tasks();
    }

    @Test
    void tasksCarryTheirProblemsPlaceAndARefillPutsAnotherProblemInAsANewAttempt() {
        ActorRef<PromptSource.Command> source = KIT.spawn(PromptSource.create(DATA, 3, 4, SEED, 0, 10, 0, SamplerTest.hyper("").strategies(), null));
        TestProbe<Sampler.Command> sampler = KIT.createTestProbe();
        List<GroupTask> step0 = request(source, sampler, 3);
        assertEquals(TrainingBatches.indices(DATA.size(), 0, 3, SEED), step0.stream().map(GroupTask::problemId).toList());
        for (GroupTask task : step0) {
            assertEquals(DATA.get(task.problemId()), task.problem());
            assertEquals(4, task.rollouts());
        }
        GroupTask uniform = step0.get(1);
        source.tell(new PromptSource.Refill(uniform, 1.0));
        GroupTask refilled = request(source, sampler, 3).get(0);
        assertEquals(uniform.key(), refilled.key());
        assertEquals(1, refilled.attempt());
        assertEquals(1, refilled.refills());
        assertEquals(DATA.get(refilled.problemId()), refilled.problem());
        // The replacement is a fixed function of the seed and the question's place: a second run draws the same.
        ActorRef<PromptSource.Command> rerun = KIT.spawn(PromptSource.create(DATA, 3, 4, SEED, 0, 10, 0, SamplerTest.hyper("").strategies(), null));
        TestProbe<Sampler.Command> other = KIT.createTestProbe();
        request(rerun, other, 3);
        rerun.tell(new PromptSource.Refill(uniform, 1.0));
        assertEquals(refilled, request(rerun, other, 3).get(0));
        // A second refill of the same question draws again (a different seed).
        source.tell(new PromptSource.Refill(refilled, 1.0));
        GroupTask twice = request(source, sampler, 3).get(0);
        assertEquals(2, twice.refills());
        assertNotEquals(refilled.attempt(), twice.attempt());
        KIT.stop(source);
        KIT.stop(rerun);
    }

    @Test
    void aResumedCurriculumChoosesTheFirstBatchAndIsReportedBackWithItsNewObservations() {
        // A narrow curriculum that has seen every question: only 4, 9 and 30 sit at the mean accuracy 0.5.
        Strategies strategies = SamplerTest.hyper("eapo.algorithm.expo.curriculum { enabled = true, sigma = 0.05, "
                + "smoothing = 0.5 }").strategies();
        double[] accuracies = new double[DATA.size()];
        Arrays.fill(accuracies, 1.0);
        for (int medium : new int[] {4, 9, 30}) {
            accuracies[medium] = 0.5;
        }
        QuestionCurriculum resumed = QuestionCurriculum.of(accuracies, strategies.curriculum());
        ActorRef<PromptSource.Command> source = KIT.spawn(PromptSource.create(DATA, 3, 4, SEED, 5, 10, 0, strategies,
                resumed));
        TestProbe<Sampler.Command> sampler = KIT.createTestProbe();
        List<GroupTask> step5 = request(source, sampler, 3);
        assertEquals(Set.of(4, 9, 30), step5.stream().map(GroupTask::problemId).collect(Collectors.toSet()));
        assertEquals(5, step5.get(0).step(), "the resumed run opens its first step");

        GroupTask nine = step5.stream().filter(t -> t.problemId() == 9).findFirst().orElseThrow();
        source.tell(new PromptSource.GroupCompleted(nine.key(), 1.0));
        // A group DAPO's dynamic sampling dropped (all wrong) still reports its accuracy.
        GroupTask four = step5.stream().filter(t -> t.problemId() == 4).findFirst().orElseThrow();
        source.tell(new PromptSource.Refill(four, 0.0));
        TestProbe<Learner.Command> learner = KIT.createTestProbe();
        source.tell(new PromptSource.ReportCurriculum(learner.ref()));
        double[] expected = accuracies.clone();
        expected[9] = 0.75; // smoothing 0.5 between 0.5 and 1
        expected[4] = 0.25; // between 0.5 and 0
        assertArrayEquals(expected, learner.expectMessageClass(Learner.CurriculumSnapshot.class).accuracies(), 1e-12);
        assertEquals(0.5, resumed.runningAccuracy(9), "the PromptSource works on its own copy");
        KIT.stop(source);

        UserInputException wrongData = assertThrows(UserInputException.class, () -> PromptSource.create(
                DATA.subList(0, 20), 3, 4, SEED, 5, 10, 0, strategies, resumed));
        assertTrue(wrongData.getMessage().contains("covers 50 questions, but the training data has 20"),
                wrongData.getMessage());
    }

    @Test
    void withoutTheCurriculumNothingIsReported() {
        ActorRef<PromptSource.Command> source = KIT.spawn(PromptSource.create(DATA, 3, 4, SEED, 0, 10, 0,
                SamplerTest.hyper("").strategies(), null));
        TestProbe<Learner.Command> learner = KIT.createTestProbe();
        source.tell(new PromptSource.ReportCurriculum(learner.ref()));
        learner.expectNoMessage(java.time.Duration.ofMillis(200));
        KIT.stop(source);
    }
}
