package ai.eapo.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import ai.eapo.data.ProblemSet;
import ai.eapo.data.TrainingBatches;
import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import java.util.List;
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
        ActorRef<PromptSource.Command> source = KIT.spawn(PromptSource.create(DATA, 3, 4, SEED, 0, 10, 0, SamplerTest.hyper("").strategies()));
        TestProbe<Sampler.Command> sampler = KIT.createTestProbe();
        List<GroupTask> step0 = request(source, sampler, 3);
        assertEquals(TrainingBatches.indices(DATA.size(), 0, 3, SEED), step0.stream().map(GroupTask::problemId).toList());
        for (GroupTask task : step0) {
            assertEquals(DATA.get(task.problemId()), task.problem());
            assertEquals(4, task.rollouts());
        }
        GroupTask uniform = step0.get(1);
        source.tell(new PromptSource.Refill(uniform));
        GroupTask refilled = request(source, sampler, 3).get(0);
        assertEquals(uniform.key(), refilled.key());
        assertEquals(1, refilled.attempt());
        assertEquals(1, refilled.refills());
        assertEquals(DATA.get(refilled.problemId()), refilled.problem());
        // The replacement is a fixed function of the seed and the question's place: a second run draws the same.
        ActorRef<PromptSource.Command> rerun = KIT.spawn(PromptSource.create(DATA, 3, 4, SEED, 0, 10, 0, SamplerTest.hyper("").strategies()));
        TestProbe<Sampler.Command> other = KIT.createTestProbe();
        request(rerun, other, 3);
        rerun.tell(new PromptSource.Refill(uniform));
        assertEquals(refilled, request(rerun, other, 3).get(0));
        // A second refill of the same question draws again (a different seed).
        source.tell(new PromptSource.Refill(refilled));
        GroupTask twice = request(source, sampler, 3).get(0);
        assertEquals(2, twice.refills());
        assertNotEquals(refilled.attempt(), twice.attempt());
        KIT.stop(source);
        KIT.stop(rerun);
    }
}
