package ai.eapo.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.eapo.model.ExperiencePrior;
import ai.eapo.model.SamplingParams;
import ai.eapo.model.TokenizerVocabulary;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** The prior tells samplers apart and frees the caches of a sampler that stops without releasing them. */
class PriorPolicyTest {

    static final ActorTestKit KIT = ActorTestKit.create(SamplerTest.testConfig());

    @AfterAll
    static void shutdown() {
        KIT.shutdownTestKit();
    }

    /** The tokenizer the prior and its samplers share in these tests. */
    static final TokenizerVocabulary VOCABULARY = new TokenizerVocabulary("tiny/tokenizer.json", 100, "sha256:00000000000000aa");

    /** Answers every consultation with token 7 and records the sequence ids it saw and released. */
    static final class RecordingPrior implements ExperiencePrior {
        final List<Long> consulted = Collections.synchronizedList(new ArrayList<>());
        final Set<Long> released = Collections.synchronizedSet(new TreeSet<>());

        @Override
        public List<Draw> consult(List<Consultation> consultations) {
            consultations.forEach(c -> consulted.add(c.sequenceId()));
            return consultations.stream().map(c -> new Draw(7, -0.5f, 1f)).toList();
        }

        @Override
        public void release(long sequenceId) {
            released.add(sequenceId);
        }
    }

    private static void consult(ActorRef<PriorPolicy.Command> prior, TestProbe<Sampler.Command> sampler, long... ids) {
        List<ExperiencePrior.Consultation> consultations = new ArrayList<>();
        for (long id : ids) {
            consultations.add(new ExperiencePrior.Consultation(id, new long[] {1, 2}, 0.5));
        }
        prior.tell(new PriorPolicy.Consult(consultations, sampler.ref(), SamplingParams.PLAIN, VOCABULARY));
        assertEquals(ids.length, sampler.expectMessageClass(Sampler.PriorAnswered.class).draws().size());
    }

    @Test
    void aStoppedSamplersSequencesAreReleasedAndAnotherSamplersAreKept() {
        RecordingPrior recording = new RecordingPrior();
        ActorRef<PriorPolicy.Command> prior = KIT.spawn(PriorPolicy.create(recording, SamplingParams.PLAIN, VOCABULARY, new PipelineActivity()));
        TestProbe<Sampler.Command> first = KIT.createTestProbe();
        TestProbe<Sampler.Command> second = KIT.createTestProbe();
        consult(prior, first, 1, 2, 3);
        consult(prior, second, 1);   // the same sampler-local id: another sequence for the prior
        assertEquals(List.of(0L, 1L, 2L, 3L), recording.consulted);

        prior.tell(new PriorPolicy.Release(List.of(2L), first.ref()));
        first.stop();
        TestProbe<Void> await = KIT.createTestProbe();
        await.awaitAssert(Duration.ofSeconds(5), () -> {
            assertEquals(Set.of(0L, 1L, 2L), recording.released, "2 released by message, 1 and 3 when it stopped");
            return null;
        });
        second.expectNoMessage(Duration.ofMillis(100));
        assertEquals(Set.of(0L, 1L, 2L), recording.released, "the other sampler's sequence is kept");
        KIT.stop(prior);
    }

    @Test
    void aSamplerWithOtherSamplingSettingsIsRefusedAndNotAnswered() {
        RecordingPrior recording = new RecordingPrior();
        ActorRef<PriorPolicy.Command> prior = KIT.spawn(PriorPolicy.create(recording, new SamplingParams(1.0, 0.95, 0),
                VOCABULARY, new PipelineActivity()));
        TestProbe<Sampler.Command> sampler = KIT.createTestProbe();
        prior.tell(new PriorPolicy.Consult(List.of(new ExperiencePrior.Consultation(1, new long[] {1, 2}, 0.5)),
                sampler.ref(), SamplingParams.PLAIN, VOCABULARY));
        String reason = sampler.expectMessageClass(Sampler.Refused.class).reason();
        assertTrue(reason.contains("top-p 1.0") && reason.contains("the prior with temperature 1.0, top-p 0.95"), reason);
        assertTrue(recording.consulted.isEmpty(), "a refused sampler's consultation is never drawn for");
        KIT.stop(prior);
    }

    @Test
    void aSamplerWhosePolicyHasAnotherTokenizerIsRefusedWithBothNamed() {
        RecordingPrior recording = new RecordingPrior();
        ActorRef<PriorPolicy.Command> prior = KIT.spawn(PriorPolicy.create(recording, SamplingParams.PLAIN, VOCABULARY,
                new PipelineActivity()));
        TestProbe<Sampler.Command> sampler = KIT.createTestProbe();
        TokenizerVocabulary qwen = new TokenizerVocabulary("/models/qwen/tokenizer.json", 151665, "sha256:0123456789abcdef");
        prior.tell(new PriorPolicy.Consult(List.of(new ExperiencePrior.Consultation(1, new long[] {1, 2}, 0.5)),
                sampler.ref(), SamplingParams.PLAIN, qwen));
        String reason = sampler.expectMessageClass(Sampler.Refused.class).reason();
        assertTrue(reason.contains(VOCABULARY.describe()) && reason.contains(qwen.describe()), reason);
        assertTrue(recording.consulted.isEmpty());
        KIT.stop(prior);
    }
}
