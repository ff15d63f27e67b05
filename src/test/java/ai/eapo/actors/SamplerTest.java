package ai.eapo.actors;

import ai.djl.Device;
import ai.eapo.algorithm.HyperParameters;
import ai.eapo.data.ProblemSet;
import ai.eapo.model.ExperiencePrior;
import ai.eapo.model.Generator;
import ai.eapo.model.ModelConfig;
import ai.eapo.model.PolicyModel;
import ai.eapo.model.PolicyTokenizer;
import ai.eapo.model.SamplingParams;
import ai.eapo.training.Knobs;
import ai.eapo.training.TaskPrompts;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import akka.actor.typed.pubsub.Topic;
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
        return ConfigFactory.parseString("akka.remote.artery.canonical.port = 0").withFallback(ConfigFactory.load());
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
            SamplerReplica replica = new SamplerReplica(0, model, Knobs.initial(hyper, 0));
            ActorRef<Sampler.Command> sampler = spawnSampler(replica, prompts, hyper, source, prior.ref(), verifiers);

            source.expectMessageClass(PromptSource.SamplerReset.class);
            PromptSource.RequestGroups request = source.expectMessageClass(PromptSource.RequestGroups.class);
            assertEquals(16 / GROUP, request.max(), "room for 16 sequences in groups of 4");
            sampler.tell(new Sampler.Assigned(List.of(new GroupTask(0, 0, problem, 0), new GroupTask(0, 1, problem, 0))));

            // Play the prior: answer each consultation with token 5, log-prob -1, and count the questions.
            Map<Long, Integer> consultations = new HashMap<>();
            List<Verifier.Check> checks = new ArrayList<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (checks.size() < 2 * GROUP) {
                assertTrue(System.nanoTime() < deadline, "only " + checks.size() + " responses finished");
                if (poll(prior) instanceof PriorPolicy.Consult consult) {
                    List<Long> ids = new ArrayList<>();
                    List<ExperiencePrior.Draw> draws = new ArrayList<>();
                    for (ExperiencePrior.Consultation q : consult.consultations()) {
                        consultations.merge(q.sequenceId(), 1, Integer::sum);
                        ids.add(q.sequenceId());
                        draws.add(new ExperiencePrior.Draw(5, -1f));
                    }
                    sampler.tell(new Sampler.PriorAnswered(ids, draws));
                }
                if (poll(verifiers) instanceof Verifier.Check check) {
                    checks.add(check);
                }
            }
            int critical = 0;
            int plain = 0;
            for (Verifier.Check check : checks) {
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

    /** A sampler with room for 16 sequences whose peers are probes ({@code prior} may be null: GRPO). */
    private static ActorRef<Sampler.Command> spawnSampler(SamplerReplica replica, TaskPrompts prompts, HyperParameters hyper,
                                                          TestProbe<PromptSource.Command> source,
                                                          ActorRef<PriorPolicy.Command> prior,
                                                          TestProbe<Verifier.Command> verifiers) {
        TestProbe<Grouper.Command> grouper = KIT.createTestProbe();
        ActorRef<Topic.Command<Sampler.Command>> topic = KIT.spawn(Topic.create(Sampler.Command.class, "sampler-test"));
        Sampler.Settings settings = new Sampler.Settings(GROUP, MAX_NEW, new SamplingParams(1, 1, 0), 8, 16, 3, hyper);
        return KIT.spawn(Sampler.create(replica, prompts, settings,
                new Sampler.Peers(source.ref(), prior, verifiers.ref(), grouper.ref(), topic, new BusyTime())));
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
    void startsNoQuestionMoreThanMaxStalenessAheadOfItsWeights() {
        HyperParameters hyper = hyper("eapo.algorithm { group-size = 4, experience.initial-ratio = 0 }");
        try (PolicyModel model = randomModel(6); PolicyTokenizer tokenizer = PolicyTokenizer.load(TOKENIZER, null)) {
            TaskPrompts prompts = new TaskPrompts(tokenizer, "{prompt}\n");
            TestProbe<PromptSource.Command> source = KIT.createTestProbe();
            TestProbe<Verifier.Command> verifiers = KIT.createTestProbe();
            SamplerReplica replica = new SamplerReplica(1, model, Knobs.initial(hyper, 0));
            ActorRef<Sampler.Command> sampler = spawnSampler(replica, prompts, hyper, source, null, verifiers);
            source.expectMessageClass(PromptSource.SamplerReset.class);
            source.expectMessageClass(PromptSource.RequestGroups.class);
            ProblemSet.Problem problem = new ProblemSet.Problem("Compute 3+4.", "7", "", "1");
            // A question of step 1 with weights at version 0 and max-staleness 0 must wait.
            sampler.tell(new Sampler.Assigned(List.of(new GroupTask(1, 0, problem, 0))));
            verifiers.expectNoMessage(Duration.ofMillis(500));
            // Raising max-staleness to 1 lets it start: all G responses come back.
            sampler.tell(new Sampler.KnobsChanged(replica.knobs.with(Map.of(Knobs.MAX_STALENESS, "1"))));
            for (int i = 0; i < GROUP; i++) {
                Verifier.Check check = verifiers.expectMessageClass(Verifier.Check.class, Duration.ofSeconds(30));
                assertEquals(1, check.task().step());
                assertFalse(check.completion().experience());
            }
            KIT.stop(sampler);
        }
    }
}
