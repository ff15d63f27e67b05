package ai.eapo.actors;

import ai.djl.Device;
import ai.eapo.algorithm.HyperParameters;
import ai.eapo.algorithm.RolloutPlan;
import ai.eapo.data.ProblemSet;
import ai.eapo.model.ExperiencePrior;
import ai.eapo.model.Generator;
import ai.eapo.model.ModelConfig;
import ai.eapo.model.PolicyModel;
import ai.eapo.model.PolicyTokenizer;
import ai.eapo.model.SamplingParams;
import ai.eapo.model.WeightLayout;
import ai.eapo.model.WeightSnapshot;
import ai.eapo.training.TaskPrompts;

import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Sampler's protocol, with probes in place of its peers. */
class SamplerTest {

    /** Actor tests bind any free port, never the node's. */
    static Config testConfig() {
        return ConfigFactory.parseString("pekko.remote.artery.canonical.port = 0").withFallback(ConfigFactory.load());
    }

    static final ActorTestKit KIT = ActorTestKit.create(testConfig());
    static final Path TOKENIZER = Path.of("data/synthetic/tokenizer");
    static final int GROUP = 4;
    static final int MAX_NEW = 12;

    @AfterAll
    static void shutdown() {
        KIT.shutdownTestKit();
    }

    static PolicyModel randomModel(long seed) {
        return PolicyModel.random(ModelConfig.qwen2(100, 64, 128, 2, 4, 2, true, List.of(0)), Device.cpu(), seed, 0.5f);
    }

    static HyperParameters hyper(String overrides) {
        return HyperParameters.fromConfig(ConfigFactory.parseString(overrides).withFallback(ConfigFactory.load()));
    }

    @Test
    void consultsThePriorExactlyAtCriticalPositionsOfExperienceResponses() {
        try (PolicyModel model = randomModel(5); PolicyTokenizer tokenizer = PolicyTokenizer.load(TOKENIZER, null)) {
            TaskPrompts prompts = new TaskPrompts(tokenizer, "{prompt}\n");
            ProblemSet.Problem problem = new ProblemSet.Problem("Compute 3+4.", "7", "", "1");
            // τ = the median entropy of this policy's own samples, so that it splits positions into critical and not.
            double tau = medianEntropy(model, prompts, problem);
            // α_0 = 0.5 of G = 4: slots 0 and 1 are experience-augmented.
            HyperParameters hyper = hyper("eapo.algorithm { group-size = 4, experience { initial-ratio = 0.5, "
                    + "anneal-steps = 100, entropy-threshold = " + tau + " } }");
            TestProbe<PromptSource.Command> source = KIT.createTestProbe();
            TestProbe<PriorPolicy.Command> prior = KIT.createTestProbe();
            TestProbe<Verifier.Command> verifiers = KIT.createTestProbe();
            TestProbe<Grouper.Command> grouper = KIT.createTestProbe();
            SamplerReplica replica = new SamplerReplica(0, model, 0);
            ActorRef<Sampler.Command> sampler = spawnSampler(replica, prompts, source, prior.ref(), verifiers,
                    grouper, KIT.createTestProbe(), Duration.ofMinutes(1));
            RolloutPlan plan = RolloutPlan.of(hyper, 0, 0);

            source.expectMessageClass(PromptSource.SamplerReset.class);
            PromptSource.RequestGroups request = source.expectMessageClass(PromptSource.RequestGroups.class);
            assertEquals(16 / GROUP, request.max(), "room for 16 sequences in groups of 4");
            sampler.tell(new Sampler.Assigned(List.of(GroupTask.first(0, 0, 0, problem, GROUP, plan),
                    GroupTask.first(0, 1, 0, problem, GROUP, plan))));

            // Play the prior: answer each consultation with token 5, log-prob -1, and count the questions.
            Map<Long, Integer> consultations = new HashMap<>();
            List<Grouper.Verified> checks = new ArrayList<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (checks.size() < 2 * GROUP) {
                assertTrue(System.nanoTime() < deadline, "only " + checks.size() + " responses finished");
                if (poll(prior) instanceof PriorPolicy.Consult consult) {
                    List<Long> ids = new ArrayList<>();
                    List<Integer> positions = new ArrayList<>();
                    List<ExperiencePrior.Draw> draws = new ArrayList<>();
                    for (ExperiencePrior.Consultation q : consult.consultations()) {
                        consultations.merge(q.sequenceId(), 1, Integer::sum);
                        ids.add(q.sequenceId());
                        positions.add(q.tokens().length);
                        draws.add(new ExperiencePrior.Draw(5, -1f, 1f));
                    }
                    sampler.tell(new Sampler.PriorAnswered(ids, positions, draws));
                }
                if (poll(verifiers) instanceof Verifier.Check check) {
                    check.replyTo().tell(new Verifier.Scored(check.sequenceId(), 1, null));
                }
                if (poll(grouper) instanceof Grouper.Verified verified) {
                    checks.add(verified);
                }
            }
            int critical = 0;
            int plain = 0;
            for (Grouper.Verified check : checks) {
                Generator.Completion c = check.completion();
                assertEquals(check.slot() < 2, c.experience(), "slots 0 and 1 are experience-augmented");
                int resampled = 0;
                for (int t = 0; t < c.tokens().length; t++) {
                    boolean shouldConsult = c.experience() && c.entropies()[t] > tau;
                    assertEquals(shouldConsult, c.resampled()[t], "slot " + check.slot() + " token " + t);
                    if (c.resampled()[t]) {
                        assertEquals(5, c.tokens()[t]);
                        assertEquals(-1f, c.logProbs()[t]);
                        resampled++;
                        critical++;
                    } else {
                        plain++;
                    }
                }
                assertEquals(resampled, consultations.getOrDefault(c.id(), 0), "one consultation per resampled token");
            }
            assertTrue(critical > 0 && plain > 0, "the threshold should split positions: " + critical + " / " + plain);
            KIT.stop(sampler);
        }
    }

    private static double medianEntropy(PolicyModel model, TaskPrompts prompts, ProblemSet.Problem problem) {
        List<Generator.Request> requests = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            requests.add(new Generator.Request(i, prompts.prompt(problem), MAX_NEW, 100 + i));
        }
        List<Float> entropies = new ArrayList<>();
        for (Generator.Completion c : new Generator(model, new SamplingParams(1, 1, 0), java.util.Set.of(prompts.eos()), 8)
                .generate(requests)) {
            for (float h : c.entropies()) {
                entropies.add(h);
            }
        }
        entropies.sort(null);
        return entropies.get(entropies.size() / 2);
    }

    /**
     * A sampler with room for 16 sequences whose peers are probes ({@code prior} may be null: GRPO); requests
     * unanswered for {@code retryAfter} are sent again.
     */
    private static ActorRef<Sampler.Command> spawnSampler(SamplerReplica replica, TaskPrompts prompts,
                                                          TestProbe<PromptSource.Command> source,
                                                          ActorRef<PriorPolicy.Command> prior,
                                                          TestProbe<Verifier.Command> verifiers,
                                                          TestProbe<Grouper.Command> grouper,
                                                          TestProbe<WeightServer.Command> weights, Duration retryAfter) {
        Sampler.Settings settings = new Sampler.Settings(GROUP, MAX_NEW, new SamplingParams(1, 1, 0), 8, 16, 3,
                retryAfter, null);
        return KIT.spawn(Sampler.create(replica, prompts, settings,
                new Sampler.Peers(source.ref(), java.util.Optional.ofNullable(prior), verifiers.ref(), grouper.ref(), weights.ref(), new PipelineActivity())));
    }

    /** The next message, or null if none comes within a moment. */
    static <T> T poll(TestProbe<T> probe) {
        try {
            return probe.receiveMessage(Duration.ofMillis(20));
        } catch (AssertionError nothingYet) {
            return null;
        }
    }

    @Test
    void startsNoQuestionBeforeTheWeightVersionItsPlanNeeds() {
        HyperParameters hyper = hyper("eapo.algorithm { group-size = 4, experience.initial-ratio = 0 }");
        try (PolicyModel model = randomModel(6); PolicyTokenizer tokenizer = PolicyTokenizer.load(TOKENIZER, null)) {
            TaskPrompts prompts = new TaskPrompts(tokenizer, "{prompt}\n");
            TestProbe<PromptSource.Command> source = KIT.createTestProbe();
            TestProbe<Verifier.Command> verifiers = KIT.createTestProbe();
            TestProbe<Grouper.Command> grouper = KIT.createTestProbe();
            SamplerReplica replica = new SamplerReplica(1, model, 0);
            TestProbe<WeightServer.Command> weights = KIT.createTestProbe();
            ActorRef<Sampler.Command> sampler = spawnSampler(replica, prompts, source, null, verifiers, grouper,
                    weights, Duration.ofMinutes(1));
            source.expectMessageClass(PromptSource.SamplerReset.class);
            source.expectMessageClass(PromptSource.RequestGroups.class);
            weights.expectMessageClass(WeightServer.Subscribe.class);
            ProblemSet.Problem problem = new ProblemSet.Problem("Compute 3+4.", "7", "", "1");
            // A question of step 1 with max-staleness 0 needs weights of version 1: on version 0 it must wait.
            sampler.tell(new Sampler.Assigned(List.of(GroupTask.first(1, 0, 0, problem, GROUP, RolloutPlan.of(hyper, 1, 0)))));
            verifiers.expectNoMessage(Duration.ofMillis(500));
            // Version 1 is announced and fetched: the question starts, and all G responses come back.
            sampler.tell(new Sampler.WeightsPublished(1, null, WeightLayout.of(model), weights.ref()));
            WeightServer.Fetch fetch = weights.expectMessageClass(WeightServer.Fetch.class, Duration.ofSeconds(10));
            assertEquals(1, fetch.version());
            fetch.replyTo().tell(new WeightServer.Shared(1, WeightSnapshot.of(model, 1)));
            for (int i = 0; i < GROUP; i++) {
                Verifier.Check check = verifiers.expectMessageClass(Verifier.Check.class, Duration.ofSeconds(30));
                check.replyTo().tell(new Verifier.Scored(check.sequenceId(), 0, null));
                Grouper.Verified verified = grouper.expectMessageClass(Grouper.Verified.class);
                assertEquals(1, verified.task().step());
                assertFalse(verified.completion().experience());
            }
            KIT.stop(sampler);
        }
    }

    @Test
    void unansweredConsultationsAndChecksAreSentAgainAndAnsweredOnce() {
        HyperParameters hyper = hyper("eapo.algorithm { group-size = 4, experience { initial-ratio = 1, "
                + "anneal-steps = 100, entropy-threshold = 0 } }");
        try (PolicyModel model = randomModel(7); PolicyTokenizer tokenizer = PolicyTokenizer.load(TOKENIZER, null)) {
            TaskPrompts prompts = new TaskPrompts(tokenizer, "{prompt}\n");
            TestProbe<PromptSource.Command> source = KIT.createTestProbe();
            TestProbe<PriorPolicy.Command> prior = KIT.createTestProbe();
            TestProbe<Verifier.Command> verifiers = KIT.createTestProbe();
            TestProbe<Grouper.Command> grouper = KIT.createTestProbe();
            SamplerReplica replica = new SamplerReplica(2, model, 0);
            ActorRef<Sampler.Command> sampler = spawnSampler(replica, prompts, source, prior.ref(), verifiers,
                    grouper, KIT.createTestProbe(), Duration.ofMillis(300));
            source.expectMessageClass(PromptSource.SamplerReset.class);
            source.expectMessageClass(PromptSource.RequestGroups.class);
            sampler.tell(new Sampler.Assigned(List.of(GroupTask.first(0, 0, 0,
                    new ProblemSet.Problem("Compute 3+4.", "7", "", "1"), GROUP, RolloutPlan.of(hyper, 0, 0)))));

            // τ = 0 parks every sequence at its first token. The prior "dies" with the first consultation:
            // the same sequences are asked again, and a late answer to the first ask changes nothing.
            PriorPolicy.Consult lost = prior.expectMessageClass(PriorPolicy.Consult.class, Duration.ofSeconds(30));
            Map<Long, long[]> asked = new HashMap<>();
            lost.consultations().forEach(c -> asked.put(c.sequenceId(), c.tokens()));
            PriorPolicy.Consult again = prior.expectMessageClass(PriorPolicy.Consult.class, Duration.ofSeconds(5));
            assertEquals(asked.keySet(), new java.util.HashSet<>(again.consultations().stream()
                    .map(ExperiencePrior.Consultation::sequenceId).toList()), "the same sequences are asked again");
            Map<Long, Integer> answers = new HashMap<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            PriorPolicy.Consult ask = again;
            Verifier.Check firstCheck = null;
            List<Grouper.Verified> verified = new ArrayList<>();
            while (verified.size() < GROUP) {
                assertTrue(System.nanoTime() < deadline, "only " + verified.size() + " responses were verified");
                if (ask != null) {
                    List<Long> ids = ask.consultations().stream().map(ExperiencePrior.Consultation::sequenceId).toList();
                    List<Integer> positions = ask.consultations().stream().map(c -> c.tokens().length).toList();
                    List<ExperiencePrior.Draw> draws = ids.stream().map(id -> new ExperiencePrior.Draw(5, -1f, 1f)).toList();
                    sampler.tell(new Sampler.PriorAnswered(ids, positions, draws));
                    sampler.tell(new Sampler.PriorAnswered(ids, positions, draws)); // a duplicate, as after a retry
                    ids.forEach(id -> answers.merge(id, 1, Integer::sum));
                }
                ask = poll(prior) instanceof PriorPolicy.Consult c ? c : null;
                if (poll(verifiers) instanceof Verifier.Check check) {
                    if (firstCheck == null) {
                        firstCheck = check; // "lost": answered only when it comes again
                    } else {
                        check.replyTo().tell(new Verifier.Scored(check.sequenceId(), 1, null));
                        check.replyTo().tell(new Verifier.Scored(check.sequenceId(), 1, null));
                    }
                }
                if (poll(grouper) instanceof Grouper.Verified v) {
                    verified.add(v);
                }
            }
            assertEquals(GROUP, verified.stream().map(Grouper.Verified::slot).distinct().count(), "each slot once");
            grouper.expectNoMessage(Duration.ofMillis(500));
            for (Grouper.Verified v : verified) {
                assertEquals(5, v.completion().tokens()[0], "the first token came from the prior");
            }
            KIT.stop(sampler);
        }
    }
}
