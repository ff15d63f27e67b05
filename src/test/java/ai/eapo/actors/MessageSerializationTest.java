package ai.eapo.actors;

import ai.eapo.algorithm.GroupAdvantages;
import ai.eapo.data.ProblemSet;
import ai.eapo.model.ExperiencePrior;
import ai.eapo.model.Generator;
import ai.eapo.training.Knobs;
import ai.eapo.training.ScoredGroup;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.javadsl.Adapter;
import akka.serialization.Serialization;
import akka.serialization.SerializationExtension;
import akka.serialization.Serializers;
import akka.serialization.jackson.JacksonCborSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

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
        akka.serialization.Serializer serializer = serialization.findSerializerFor(message);
        assertInstanceOf(JacksonCborSerializer.class, serializer, message.getClass() + " is not bound to Jackson CBOR");
        byte[] bytes = serialization.serialize(message).get();
        String manifest = Serializers.manifestFor(serializer, message);
        return (T) serialization.deserialize(bytes, serializer.identifier(), manifest).get();
    }

    @Test
    void protocolMessagesRoundTrip() {
        TestProbe<Sampler.Command> sampler = KIT.createTestProbe();
        TestProbe<Grouper.Command> grouper = KIT.createTestProbe();
        TestProbe<Learner.KnobsReply> client = KIT.createTestProbe();
        GroupTask task = new GroupTask(3, 1, PROBLEM, 2);
        Generator.Completion completion = new Generator.Completion(9, new long[]{4, 5}, new float[]{-0.5f, -1f},
                new float[]{-0.5f, -2f}, new float[]{1.5f, 0.2f}, new boolean[]{false, true}, new long[]{3, 3}, true, true);

        assertEquals(new PromptSource.RequestGroups(4, sampler.ref()), roundTrip(new PromptSource.RequestGroups(4, sampler.ref())));
        assertEquals(new PromptSource.GroupCompleted(task.key()), roundTrip(new PromptSource.GroupCompleted(task.key())));
        assertEquals(new Sampler.Assigned(List.of(task)), roundTrip(new Sampler.Assigned(List.of(task))));
        Knobs knobs = new Knobs(Double.POSITIVE_INFINITY, 200, 0.5, 1e-4, 1);
        assertEquals(knobs, roundTrip(new Sampler.KnobsChanged(knobs)).knobs());
        Sampler.PriorAnswered answered = roundTrip(new Sampler.PriorAnswered(List.of(7L), List.of(new ExperiencePrior.Draw(5, -0.25f))));
        assertEquals(List.of(7L), answered.sequenceIds());
        assertEquals(new ExperiencePrior.Draw(5, -0.25f), answered.draws().get(0));
        PriorPolicy.Consult consult = roundTrip(new PriorPolicy.Consult(
                List.of(new ExperiencePrior.Consultation(7, new long[]{1, 2, 3}, 0.5)), sampler.ref()));
        assertArrayEquals(new long[]{1, 2, 3}, consult.consultations().get(0).tokens());
        assertEquals(sampler.ref(), consult.replyTo());

        Verifier.Check check = roundTrip(new Verifier.Check(task, 1, new long[]{1, 2}, completion, "2", grouper.ref()));
        assertEquals(task, check.task());
        assertArrayEquals(completion.resampled(), check.completion().resampled());
        assertArrayEquals(completion.weightVersions(), check.completion().weightVersions());
        ScoredGroup group = ScoredGroup.of(3, 1, new long[]{1, 2}, List.of(completion, completion), new double[]{1, 0},
                GrouperTest.STD);
        Learner.Train train = roundTrip(new Learner.Train(List.of(group)));
        ScoredGroup back = train.groups().get(0);
        assertArrayEquals(group.advantages().advantages(), back.advantages().advantages(), 0);
        assertArrayEquals(group.responses().get(0).logProbs(), back.responses().get(0).logProbs(), 0f);
        assertInstanceOf(GroupAdvantages.class, back.advantages());

        Learner.SetKnobs set = roundTrip(new Learner.SetKnobs(Map.of("tau", "1.5"), client.ref()));
        assertEquals(Map.of("tau", "1.5"), set.changes());
        assertEquals(client.ref(), set.replyTo());
        assertEquals(new Learner.KnobsReply(knobs.asMap(), null, 4), roundTrip(new Learner.KnobsReply(knobs.asMap(), null, 4)));
    }
}
