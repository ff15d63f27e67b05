package ai.eapo.actors;

import ai.eapo.algorithm.CriticalPointPolicy;
import ai.eapo.algorithm.ExperienceGranularity;
import ai.eapo.algorithm.RolloutPlan;
import ai.eapo.algorithm.StepPlan;

import ai.eapo.algorithm.GroupAdvantages;
import ai.eapo.data.ProblemSet;
import ai.eapo.model.CheckpointIdentity;
import ai.eapo.model.ExperiencePrior;
import ai.eapo.model.SamplingParams;
import ai.eapo.model.Generator;
import ai.eapo.model.WeightLayout;
import ai.eapo.training.Knobs;
import ai.eapo.training.RefilledGroup;
import ai.eapo.training.ScoredGroup;

import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.SourceRef;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.StreamRefs;
import org.apache.pekko.util.ByteString;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializers;
import org.apache.pekko.serialization.jackson.JacksonCborSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/** Every message that may cross nodes round-trips through its bound serializer (Jackson CBOR, no Java serialization). */
class MessageSerializationTest {

    static final ActorTestKit KIT = ActorTestKit.create(SamplerTest.testConfig());
    static final ProblemSet.Problem PROBLEM = new ProblemSet.Problem("Compute 1+1.", "2", "1+1=2.", "1");

    @AfterAll
    static void shutdown() {
        KIT.shutdownTestKit();
    }

    @SuppressWarnings("unchecked")
    static <T> T roundTrip(T message) {
        Serialization serialization = SerializationExtension.get(Adapter.toClassic(KIT.system()));
        org.apache.pekko.serialization.Serializer serializer = serialization.findSerializerFor(message);
        assertInstanceOf(JacksonCborSerializer.class, serializer, message.getClass() + " is not bound to Jackson CBOR");
        byte[] bytes = serialization.serialize(message).get();
        String manifest = Serializers.manifestFor(serializer, message);
        return (T) serialization.deserialize(bytes, serializer.identifier(), manifest).get();
    }

    @Test
    void protocolMessagesRoundTrip() {
        TestProbe<Sampler.Command> sampler = KIT.createTestProbe();
        TestProbe<Learner.KnobsReply> client = KIT.createTestProbe();
        // τ = +∞ as a live knob can set it: CBOR carries it.
        RolloutPlan rollouts = new RolloutPlan(2, new CriticalPointPolicy(Double.POSITIVE_INFINITY,
                ExperienceGranularity.TRAJECTORY), 2, 3);
        GroupTask task = new GroupTask(3, 1, 0, PROBLEM, 4, rollouts, 2, 0);
        Generator.Completion completion = new Generator.Completion(9, new long[]{4, 5}, new float[]{-0.5f, -1f},
                new float[]{-0.5f, -2f}, new float[]{1f, 0.8f}, new float[]{1.5f, 0.2f}, new boolean[]{false, true}, new long[]{3, 3}, true, true);

        assertEquals(new PromptSource.RequestGroups(4, sampler.ref()), roundTrip(new PromptSource.RequestGroups(4, sampler.ref())));
        assertEquals(new PromptSource.GroupCompleted(task.key()), roundTrip(new PromptSource.GroupCompleted(task.key())));
        assertEquals(new Sampler.Assigned(List.of(task)), roundTrip(new Sampler.Assigned(List.of(task))));
        assertEquals(new PromptSource.Refill(task), roundTrip(new PromptSource.Refill(task)));
        StepPlan plan = new StepPlan(3, List.of(new StepPlan.Question(17, 4, List.of(5, 9, 2)),
                new StepPlan.Question(3, 3, List.of(1, 1, 8))), rollouts);
        assertEquals(plan, roundTrip(new PromptSource.Plan(plan)).plan());
        Sampler.PriorAnswered answered = roundTrip(new Sampler.PriorAnswered(List.of(7L), List.of(3),
                List.of(new ExperiencePrior.Draw(5, -0.25f, 0.9f))));
        assertEquals(List.of(7L), answered.sequenceIds());
        assertEquals(new ExperiencePrior.Draw(5, -0.25f, 0.9f), answered.draws().get(0));
        SamplingParams nucleus = new SamplingParams(0.7, 0.95, 20);
        PriorPolicy.Consult consult = roundTrip(new PriorPolicy.Consult(
                List.of(new ExperiencePrior.Consultation(7, new long[]{1, 2, 3}, 0.5)), sampler.ref(), nucleus,
                PriorPolicyTest.VOCABULARY));
        assertArrayEquals(new long[]{1, 2, 3}, consult.consultations().get(0).tokens());
        assertEquals(sampler.ref(), consult.sampler());
        assertEquals(nucleus, consult.sampling());
        assertEquals(PriorPolicyTest.VOCABULARY, consult.vocabulary());
        assertEquals(new Sampler.Refused("why"), roundTrip(new Sampler.Refused("why")));
        assertEquals(new PriorPolicy.Release(List.of(7L), sampler.ref()), roundTrip(new PriorPolicy.Release(List.of(7L), sampler.ref())));

        TestProbe<Verifier.Scored> asker = KIT.createTestProbe();
        Verifier.Check check = new Verifier.Check(9, "so \\boxed{2}", "2", asker.ref());
        assertEquals(check, roundTrip(check));
        assertEquals(new Verifier.Scored(9, 1.0, null), roundTrip(new Verifier.Scored(9, 1.0, null)));
        Grouper.Verified verified = roundTrip(new Grouper.Verified(task, 1, new long[]{1, 2}, completion, 1.0, null));
        assertEquals(task, verified.task());
        assertArrayEquals(completion.resampled(), verified.completion().resampled());
        assertArrayEquals(completion.weightVersions(), verified.completion().weightVersions());
        assertEquals(new PromptSource.SamplerReset(sampler.ref()), roundTrip(new PromptSource.SamplerReset(sampler.ref())));
        assertEquals(new NodeGuardian.RunFinished(12), roundTrip(new NodeGuardian.RunFinished(12)));
        ScoredGroup group = ScoredGroup.of(3, 1, 9, new long[]{1, 2}, List.of(completion, completion), new double[]{1, 0},
                GrouperTest.STD).withRefills(2);
        Learner.Train train = roundTrip(new Learner.Train(List.of(group), List.of(new RefilledGroup(4, 0.0))));
        assertEquals(List.of(new RefilledGroup(4, 0.0)), train.refilled());
        ScoredGroup back = train.groups().get(0);
        assertEquals(2, back.refills());
        assertArrayEquals(group.advantages().advantages(), back.advantages().advantages(), 0);
        assertArrayEquals(group.responses().get(0).logProbs(), back.responses().get(0).logProbs(), 0f);
        assertInstanceOf(GroupAdvantages.class, back.advantages());

        Learner.SetKnobs set = roundTrip(new Learner.SetKnobs(Map.of("tau", "1.5"), client.ref()));
        assertEquals(Map.of("tau", "1.5"), set.changes());
        assertEquals(client.ref(), set.replyTo());
        Map<String, String> knobs = new Knobs(Double.POSITIVE_INFINITY, 200, 0.5, 1e-4, 1).asMap();
        assertEquals(new Learner.KnobsReply(knobs, null, 4), roundTrip(new Learner.KnobsReply(knobs, null, 4)));
    }

    @Test
    void weightMessagesRoundTrip() {
        TestProbe<WeightServer.Command> server = KIT.createTestProbe();
        TestProbe<WeightServer.Offer> offers = KIT.createTestProbe();
        TestProbe<Sampler.Command> sampler = KIT.createTestProbe();
        WeightLayout layout = new WeightLayout(List.of(new WeightLayout.Tensor("model.embed_tokens.weight", new long[]{128, 256}),
                new WeightLayout.Tensor("model.norm.weight", new long[]{256})));

        Sampler.WeightsPublished published = roundTrip(new Sampler.WeightsPublished(7, "crc32c:0a1b2c3d", layout, server.ref()));
        assertEquals(new Sampler.WeightsPublished(7, "crc32c:0a1b2c3d", layout, server.ref()), published);
        assertEquals(layout.totalBytes(), published.layout().totalBytes());
        assertEquals(new WeightServer.Fetch(7, offers.ref()), roundTrip(new WeightServer.Fetch(7, offers.ref())));
        CheckpointIdentity base = new CheckpointIdentity("/models/base", "sha256:0123456789abcdef");
        assertEquals(new WeightServer.Subscribe(sampler.ref(), SamplingParams.PLAIN, base),
                roundTrip(new WeightServer.Subscribe(sampler.ref(), SamplingParams.PLAIN, base)));
        assertEquals(new WeightServer.Superseded(8), roundTrip(new WeightServer.Superseded(8)));

        SourceRef<ByteString> chunks = Source.single(ByteString.fromString("weights"))
                .runWith(StreamRefs.sourceRef(), Materializer.matFromSystem(KIT.system()));
        WeightServer.Streamed streamed = roundTrip(new WeightServer.Streamed(7, "crc32c:0a1b2c3d", layout, chunks));
        assertEquals(7, streamed.version());
        assertEquals(layout, streamed.layout());
        assertNotNull(streamed.chunks());
        assertEquals("weights", streamed.chunks().getSource().runWith(org.apache.pekko.stream.javadsl.Sink.head(),
                Materializer.matFromSystem(KIT.system())).toCompletableFuture().join().utf8String());
    }
}
