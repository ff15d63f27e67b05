package ai.eapo.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import ai.eapo.algorithm.HyperParameters;
import ai.eapo.algorithm.RolloutPlan;
import ai.eapo.algorithm.StepPlan;
import ai.eapo.algorithm.StepPlanner;
import ai.eapo.data.ProblemSet;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import java.time.Duration;
import java.util.List;
import java.util.TreeMap;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** The PromptSource hands out the questions the learner planned, with their problems, and refills as planned. */
class PromptSourceTest {

    static final ActorTestKit KIT = ActorTestKit.create(SamplerTest.testConfig());
    static final List<ProblemSet.Problem> DATA = IntStream.range(0, 50)
            .mapToObj(i -> new ProblemSet.Problem("Compute " + i + "+1.", Integer.toString(i + 1), "", "1")).toList();
    static final long SEED = 11;
    static final HyperParameters DYNAMIC = SamplerTest.hyper("eapo.algorithm { group-size = 4, "
            + "advantage { drop-uniform-groups = true, max-refills = 2 } }");

    @AfterAll
    static void shutdown() {
        KIT.shutdownTestKit();
    }

    private static List<GroupTask> request(ActorRef<PromptSource.Command> source, TestProbe<Sampler.Command> sampler, int max) {
        source.tell(new PromptSource.RequestGroups(max, sampler.ref()));
        return sampler.expectMessageClass(Sampler.Assigned.class).tasks();
    }

    private static StepPlan plan(long step, HyperParameters hyper) {
        return new StepPlanner(DATA.size(), 3, SEED).plan(step, hyper, 0, null, new TreeMap<>());
    }

    @Test
    void tasksCarryTheirPlannedProblemsAndARefillPutsThePlannedReplacementInAsANewAttempt() {
        PipelineActivity activity = new PipelineActivity();
        ActorRef<PromptSource.Command> source = KIT.spawn(PromptSource.create(DATA, activity));
        TestProbe<Sampler.Command> sampler = KIT.createTestProbe();
        StepPlan plan = plan(0, DYNAMIC);
        source.tell(new PromptSource.Plan(plan));
        List<GroupTask> step0 = request(source, sampler, 3);
        // The node's /metrics shows the queue: all 3 questions handed out, none waiting.
        assertEquals(0, activity.questionsWaiting());
        assertEquals(3, activity.questionsOutstanding());
        assertEquals(plan.questions().stream().map(StepPlan.Question::problemId).toList(),
                step0.stream().map(GroupTask::problemId).toList());
        for (GroupTask task : step0) {
            assertEquals(DATA.get(task.problemId()), task.problem());
            assertEquals(4, task.rollouts());
            assertEquals(plan.rollouts(), task.plan());
        }
        GroupTask uniform = step0.get(1);
        source.tell(new PromptSource.Refill(uniform));
        GroupTask refilled = request(source, sampler, 3).get(0);
        assertEquals(uniform.key(), refilled.key());
        assertEquals(1, refilled.attempt());
        assertEquals(1, refilled.refills());
        assertEquals(plan.questions().get(1).refills().get(0), refilled.problemId());
        assertEquals(DATA.get(refilled.problemId()), refilled.problem());
        // A second refill of the same question takes the plan's second replacement.
        source.tell(new PromptSource.Refill(refilled));
        GroupTask twice = request(source, sampler, 3).get(0);
        assertEquals(2, twice.refills());
        assertEquals(plan.questions().get(1).refills().get(1), twice.problemId());
        assertNotEquals(refilled.attempt(), twice.attempt());
        KIT.stop(source);
    }

    @Test
    void aNewPlanOfAnOpenStepChangesHowItsRemainingQuestionsAreSampledNotWhichTheyAre() {
        ActorRef<PromptSource.Command> source = KIT.spawn(PromptSource.create(DATA));
        TestProbe<Sampler.Command> sampler = KIT.createTestProbe();
        StepPlan plan = plan(0, DYNAMIC);
        source.tell(new PromptSource.Plan(plan));
        GroupTask first = request(source, sampler, 1).get(0);
        RolloutPlan changed = new RolloutPlan(2, plan.rollouts().criticalPoints().withThreshold(0.5), 0, 2);
        source.tell(new PromptSource.Plan(plan.withRollouts(changed)));
        List<GroupTask> rest = request(source, sampler, 3);
        assertEquals(2, rest.size(), "the step's questions were not opened again");
        assertEquals(plan.rollouts(), first.plan(), "a question handed out keeps its plan");
        for (GroupTask task : rest) {
            assertEquals(changed, task.plan());
        }
        assertEquals(plan.questions().subList(1, 3).stream().map(StepPlan.Question::problemId).toList(),
                rest.stream().map(GroupTask::problemId).toList());
        // Every question complete: a plan of the step coming late opens nothing.
        for (GroupTask task : List.of(first, rest.get(0), rest.get(1))) {
            source.tell(new PromptSource.GroupCompleted(task.key()));
        }
        source.tell(new PromptSource.Plan(plan));
        source.tell(new PromptSource.RequestGroups(3, sampler.ref()));
        sampler.expectNoMessage(Duration.ofMillis(300));
        // The next step opens.
        source.tell(new PromptSource.Plan(plan(1, DYNAMIC)));
        assertEquals(1, sampler.expectMessageClass(Sampler.Assigned.class).tasks().get(0).step());
        KIT.stop(source);
    }
}
