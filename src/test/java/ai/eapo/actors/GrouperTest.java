package ai.eapo.actors;

import ai.eapo.algorithm.AdvantageNorm;
import ai.eapo.algorithm.AdvantageOptions;
import ai.eapo.algorithm.GroupAdvantages;
import ai.eapo.algorithm.CriticalPointPolicy;
import ai.eapo.algorithm.OverlongPenalty;
import ai.eapo.algorithm.RolloutPlan;
import ai.eapo.data.ProblemSet;
import ai.eapo.model.Generator;
import ai.eapo.training.RefilledGroup;
import ai.eapo.training.ScoredGroup;

import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Grouper emits complete groups only, with the right advantages, and never mixes attempts. */
class GrouperTest {

    static final ActorTestKit KIT = ActorTestKit.create(SamplerTest.testConfig());
    static final AdvantageOptions STD = new AdvantageOptions(AdvantageNorm.STD, 1e-6, false, 0, false);
    static final OverlongPenalty NO_OVERLONG = new OverlongPenalty(false, 1, 1.0);
    static final int MAX_NEW = 4;
    static final ProblemSet.Problem PROBLEM = new ProblemSet.Problem("Compute 1+1.", "2", "", "1");
    /** Plain GRPO rollouts without refills. */
    static final RolloutPlan PLAN = new RolloutPlan(0, new CriticalPointPolicy(Double.POSITIVE_INFINITY), 0, 0);
    /** DAPO's dynamic sampling with one refill. */
    static final RolloutPlan ONE_REFILL = new RolloutPlan(0, new CriticalPointPolicy(Double.POSITIVE_INFINITY), 0, 1);

    @AfterAll
    static void shutdown() {
        KIT.shutdownTestKit();
    }

    static Generator.Completion completion(long id) {
        return completion(id, 2);
    }

    static Generator.Completion completion(long id, int length) {
        return new Generator.Completion(id, new long[length], new float[length], new float[length], ones(length),
                new float[length], new boolean[length], new long[length], true, false);
    }

    /** Nothing cut by top-p / top-k: every token's kept mass is 1. */
    private static float[] ones(int length) {
        float[] ones = new float[length];
        Arrays.fill(ones, 1f);
        return ones;
    }

    static Grouper.Verified verified(GroupTask task, int slot, double reward) {
        return new Grouper.Verified(task, slot, new long[]{1, 2}, completion(task.attempt() * 100L + slot), reward, null);
    }

    @Test
    void aGroupGoesToTheLearnerOnlyWhenAllItsResponsesAreInWithItsAdvantages() {
        TestProbe<Learner.Command> learner = KIT.createTestProbe();
        TestProbe<PromptSource.Command> source = KIT.createTestProbe();
        ActorRef<Grouper.Command> grouper = KIT.spawn(Grouper.create(1, 0, STD, NO_OVERLONG, MAX_NEW, learner.ref(), source.ref()));
        GroupTask task = GroupTask.first(0, 0, 0, PROBLEM, 4, PLAN);
        double[] rewards = {1, 0, 0, 1};
        grouper.tell(verified(task, 2, rewards[2]));
        grouper.tell(verified(task, 0, rewards[0]));
        grouper.tell(verified(task, 3, rewards[3]));
        learner.expectNoMessage(Duration.ofMillis(200));
        grouper.tell(verified(task, 1, rewards[1]));
        Learner.Train train = learner.expectMessageClass(Learner.Train.class);
        assertEquals(new PromptSource.GroupCompleted(task.key()), source.receiveMessage());
        ScoredGroup group = train.groups().get(0);
        assertArrayEquals(rewards, group.rewards());
        assertArrayEquals(GroupAdvantages.of(rewards, STD).advantages(), group.advantages().advantages(), 1e-12);
        for (int slot = 0; slot < 4; slot++) {
            assertEquals(slot, group.responses().get(slot).id(), "responses in slot order");
        }
        KIT.stop(grouper);
    }

    @Test
    void attemptsOfOneQuestionNeverMixAndStragglersOfAFinishedQuestionAreDropped() {
        TestProbe<Learner.Command> learner = KIT.createTestProbe();
        TestProbe<PromptSource.Command> source = KIT.createTestProbe();
        ActorRef<Grouper.Command> grouper = KIT.spawn(Grouper.create(1, 3, STD, NO_OVERLONG, MAX_NEW, learner.ref(), source.ref()));
        GroupTask first = new GroupTask(3, 1, 0, PROBLEM, 2, PLAN, 0, 0);
        GroupTask again = first.nextAttempt();
        grouper.tell(verified(first, 0, 1));
        grouper.tell(verified(again, 1, 0));
        learner.expectNoMessage(Duration.ofMillis(200));
        grouper.tell(verified(again, 0, 1));
        ScoredGroup group = learner.expectMessageClass(Learner.Train.class).groups().get(0);
        assertEquals(List.of(100L, 101L), group.responses().stream().map(Generator.Completion::id).toList(),
                "both responses from attempt 1");
        grouper.tell(verified(first, 1, 0));
        learner.expectNoMessage(Duration.ofMillis(200));
        KIT.stop(grouper);
    }

    @Test
    void learnerStepKTrainsExactlyTheQuestionsOfDataStepKInOrder() {
        TestProbe<Learner.Command> learner = KIT.createTestProbe();
        TestProbe<PromptSource.Command> source = KIT.createTestProbe();
        ActorRef<Grouper.Command> grouper = KIT.spawn(Grouper.create(2, 5, STD, NO_OVERLONG, MAX_NEW, learner.ref(), source.ref()));
        for (GroupTask task : List.of(new GroupTask(6, 0, 0, PROBLEM, 2, PLAN, 0, 0), new GroupTask(5, 1, 0, PROBLEM, 2, PLAN, 0, 0),
                new GroupTask(6, 1, 0, PROBLEM, 2, PLAN, 0, 0))) {
            grouper.tell(verified(task, 0, 1));
            grouper.tell(verified(task, 1, 0));
        }
        learner.expectNoMessage(Duration.ofMillis(200));
        GroupTask last = new GroupTask(5, 0, 0, PROBLEM, 2, PLAN, 0, 0);
        grouper.tell(verified(last, 0, 1));
        grouper.tell(verified(last, 1, 0));
        for (long step = 5; step <= 6; step++) {
            List<ScoredGroup> batch = learner.expectMessageClass(Learner.Train.class).groups();
            assertEquals(List.of(new GroupTask.Key(step, 0), new GroupTask.Key(step, 1)),
                    batch.stream().map(g -> new GroupTask.Key(g.step(), g.question())).toList(),
                    "step " + step + " waits for all its questions, and only its own");
        }
        grouper.tell(verified(new GroupTask(5, 0, 0, PROBLEM, 2, PLAN, 1, 0), 0, 1));
        grouper.tell(verified(new GroupTask(5, 0, 0, PROBLEM, 2, PLAN, 1, 0), 1, 1));
        learner.expectNoMessage(Duration.ofMillis(200));
        KIT.stop(grouper);
    }

    @Test
    void dynamicSamplingDecidesOnCorrectnessNotOnPenalisedRewards() {
        TestProbe<Learner.Command> learner = KIT.createTestProbe();
        TestProbe<PromptSource.Command> source = KIT.createTestProbe();
        AdvantageOptions dynamic = new AdvantageOptions(AdvantageNorm.STD, 1e-6, true, 1, false);
        // Responses of 2 and 4 tokens of at most 4, cache 2: the longer one is penalised, the shorter not.
        ActorRef<Grouper.Command> grouper = KIT.spawn(Grouper.create(1, 0, dynamic, new OverlongPenalty(true, 2, 1.0),
                MAX_NEW, learner.ref(), source.ref()));
        GroupTask task = GroupTask.first(0, 0, 7, PROBLEM, 2, ONE_REFILL);
        grouper.tell(new Grouper.Verified(task, 0, new long[]{1, 2}, completion(1, 2), 0, null));
        grouper.tell(new Grouper.Verified(task, 1, new long[]{1, 2}, completion(2, MAX_NEW), 0, null));
        assertEquals(new PromptSource.Refill(task), source.receiveMessage(),
                "all wrong, only the overlong penalties differ: DAPO drops the group");
        learner.expectNoMessage(Duration.ofMillis(200));
        GroupTask refilled = task.refilledWith(8, PROBLEM);
        grouper.tell(new Grouper.Verified(refilled, 0, new long[]{1, 2}, completion(101, 2), 1, null));
        grouper.tell(new Grouper.Verified(refilled, 1, new long[]{1, 2}, completion(102, 2), 0, null));
        assertEquals(List.of(new RefilledGroup(7, 0.0)), learner.expectMessageClass(Learner.Train.class).refilled(),
                "the dropped group's accuracy goes along with its step");
        KIT.stop(grouper);
    }

    @Test
    void aUniformGroupIsRefilledWithAnotherProblemUpToMaxRefillsThenDropped() {
        TestProbe<Learner.Command> learner = KIT.createTestProbe();
        TestProbe<PromptSource.Command> source = KIT.createTestProbe();
        AdvantageOptions dynamic = new AdvantageOptions(AdvantageNorm.STD, 1e-6, true, 1, false);
        ActorRef<Grouper.Command> grouper = KIT.spawn(Grouper.create(1, 0, dynamic, NO_OVERLONG, MAX_NEW,
                learner.ref(), source.ref()));
        GroupTask task = GroupTask.first(0, 0, 7, PROBLEM, 2, ONE_REFILL);
        grouper.tell(verified(task, 0, 1));
        grouper.tell(verified(task, 1, 1));
        assertEquals(new PromptSource.Refill(task), source.receiveMessage(), "all correct: no signal, refill");
        learner.expectNoMessage(Duration.ofMillis(200));
        GroupTask refilled = task.refilledWith(8, PROBLEM);
        grouper.tell(verified(refilled, 0, 0));
        grouper.tell(verified(refilled, 1, 0));
        // Out of refills: the uniform group completes (the learner step leaves it out of the update).
        assertEquals(new PromptSource.GroupCompleted(task.key()), source.receiveMessage());
        Learner.Train train = learner.expectMessageClass(Learner.Train.class);
        assertEquals(List.of(new RefilledGroup(7, 1.0)), train.refilled());
        ScoredGroup group = train.groups().get(0);
        assertTrue(group.uniform());
        assertEquals(1, group.refills(), "the slot was refilled once");
        assertEquals(8, group.problemId());
        assertEquals(2, group.responses().stream().filter(c -> c.id() >= 100).count(), "the refilled attempt's responses");
        KIT.stop(grouper);
    }

    @Test
    void overlongResponsesArePenalisedInTheAdvantagesButNotInTheRewards() {
        TestProbe<Learner.Command> learner = KIT.createTestProbe();
        TestProbe<PromptSource.Command> source = KIT.createTestProbe();
        // L_max 4, L_cache 2: length 3 costs (2 - 3) / 2 = -0.5, length 4 costs -1.
        ActorRef<Grouper.Command> grouper = KIT.spawn(Grouper.create(1, 0, STD, new OverlongPenalty(true, 2, 1.0), MAX_NEW,
                learner.ref(), source.ref()));
        GroupTask task = GroupTask.first(0, 0, 0, PROBLEM, 3, PLAN);
        int[] lengths = {2, 3, 4};
        for (int slot = 0; slot < 3; slot++) {
            grouper.tell(new Grouper.Verified(task, slot, new long[]{1, 2}, completion(slot, lengths[slot]), 1, null));
        }
        ScoredGroup group = learner.expectMessageClass(Learner.Train.class).groups().get(0);
        assertArrayEquals(new double[]{1, 1, 1}, group.rewards());
        assertArrayEquals(GroupAdvantages.of(new double[]{1, 0.5, 0}, STD).advantages(), group.advantages().advantages(),
                1e-12);
        KIT.stop(grouper);
    }
}
