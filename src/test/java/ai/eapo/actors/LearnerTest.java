package ai.eapo.actors;

import ai.eapo.training.MicroBatching;
import ai.eapo.algorithm.HyperParameters;
import ai.eapo.algorithm.StepPlan;
import ai.eapo.algorithm.StepPlanner;
import ai.eapo.model.PolicyModel;
import ai.eapo.training.Knobs;
import ai.eapo.training.LearnerStep;
import ai.eapo.training.ScoredGroup;
import ai.eapo.training.StepMetrics;

import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Learner validates knobs, applies them from the next step, publishes versions and plans steps. */
class LearnerTest {

    static final ActorTestKit KIT = ActorTestKit.create(SamplerTest.testConfig());

    @AfterAll
    static void shutdown() {
        KIT.shutdownTestKit();
    }

    static List<ScoredGroup> oneGroup(long step) {
        return List.of(ScoredGroup.of(step, 0, 0, new long[]{1, 2}, List.of(GrouperTest.completion(0), GrouperTest.completion(1)),
                new double[]{1, 0}, GrouperTest.STD));
    }

    @Test
    void refusesBadKnobsAppliesGoodOnesFromTheNextStepAndPublishesEveryVersion() throws Exception {
        HyperParameters hyper = SamplerTest.hyper("eapo.algorithm { group-size = 2, experience.entropy-threshold = 1.0 }");
        StepPlanner planner = new StepPlanner(10, 1, 3);
        try (PolicyModel model = SamplerTest.randomModel(7);
             LearnerStep step = new LearnerStep(model, hyper, Knobs.initial(hyper, 1), MicroBatching.ofResponses(8), 1f)) {
            TestProbe<WeightServer.Command> server = KIT.createTestProbe();
            TestProbe<PromptSource.Command> source = KIT.createTestProbe();
            PipelineTest.Recorder recorder = new PipelineTest.Recorder();
            ActorRef<Learner.Command> learner = KIT.spawn(Learner.create(model, step, planner, 0, 2, server.ref(),
                    source.ref(), recorder, new PipelineActivity()));
            TestProbe<Learner.KnobsReply> replies = KIT.createTestProbe();
            // The weights it starts with are published first, so samplers on any node can start from them; the steps
            // samplers may start on them (max-staleness 1) are planned.
            assertEquals(0, published(server));
            StepPlan first = planned(source);
            assertEquals(0, first.step());
            assertEquals(1.0, first.rollouts().criticalPoints().entropyThreshold());
            assertEquals(0, first.rollouts().minWeightVersion());
            StepPlan second = planned(source);
            assertEquals(1, second.step());
            assertEquals(0, second.rollouts().minWeightVersion(), "max-staleness 1: step 1 may start on version 0");

            learner.tell(new Learner.Train(oneGroup(0), List.of()));
            assertEquals(1.0, recorder.steps.poll(30, TimeUnit.SECONDS).tau());
            assertEquals(1, published(server));
            source.expectNoMessage(Duration.ofMillis(200)); // two steps in all: nothing more to plan

            learner.tell(new Learner.SetKnobs(Map.of("tau", "-1"), replies.ref()));
            Learner.KnobsReply refused = replies.receiveMessage();
            assertNotNull(refused.refusal());
            assertTrue(refused.refusal().contains("tau") && refused.refusal().contains("-1"), refused.refusal());
            assertEquals("1.0", refused.knobs().get("tau"), "nothing changes");
            learner.tell(new Learner.SetKnobs(Map.of("tau", "1.5", "warp", "9"), replies.ref()));
            assertTrue(replies.receiveMessage().refusal().contains("warp"), "an unknown knob refuses the whole change");
            server.expectNoMessage(Duration.ofMillis(200));
            source.expectNoMessage(Duration.ofMillis(200));

            learner.tell(new Learner.SetKnobs(Map.of("tau", "1.5", "annealing-steps", "200"), replies.ref()));
            Learner.KnobsReply accepted = replies.receiveMessage();
            assertNull(accepted.refusal());
            assertEquals(1, accepted.effectiveStep());
            StepPlan replanned = planned(source);
            assertEquals(1, replanned.step(), "the step not trained yet is planned again");
            assertEquals(second.questions(), replanned.questions(), "with the same questions");
            assertEquals(1.5, replanned.rollouts().criticalPoints().entropyThreshold());
            learner.tell(new Learner.Train(oneGroup(1), List.of()));
            StepMetrics next = recorder.steps.poll(30, TimeUnit.SECONDS);
            assertEquals(1.5, next.tau());
            assertEquals(200, next.annealingSteps());
            assertTrue(recorder.finished.await(10, TimeUnit.SECONDS), "two steps were asked for");
            learner.tell(new Learner.Train(oneGroup(2), List.of()));
            assertNull(recorder.steps.poll(300, TimeUnit.MILLISECONDS), "no step past the last");
            assertEquals(2, published(server));
            KIT.stop(learner);
        }
    }

    private static StepPlan planned(TestProbe<PromptSource.Command> source) {
        return source.expectMessageClass(PromptSource.Plan.class, Duration.ofSeconds(30)).plan();
    }

    /** The version of the next snapshot the learner hands the server (freed here, as the server would). */
    private static long published(TestProbe<WeightServer.Command> server) {
        WeightServer.Publish publish = server.expectMessageClass(WeightServer.Publish.class, Duration.ofSeconds(30));
        publish.snapshot().release();
        return publish.snapshot().version();
    }
}
