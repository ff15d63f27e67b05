package ai.eapo.actors;

import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.serialization.DisabledJavaSerializer;
import org.apache.pekko.serialization.JavaSerializer;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializer;
import org.apache.pekko.serialization.Serializers;
import org.apache.pekko.serialization.jackson.JacksonCborSerializer;
import com.fasterxml.jackson.dataformat.cbor.databind.CBORMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.NotSerializableException;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * With the project's configuration (conf/application.conf): Java serialization is off in both directions, a
 * message class that is not bound cannot be sent, and Jackson CBOR deserializes only bound classes, whatever
 * class an inbound manifest names.
 */
class SerializationSafetyTest {

    static final ActorTestKit KIT = ActorTestKit.create(SamplerTest.testConfig());
    static final Serialization SERIALIZATION = SerializationExtension.get(Adapter.toClassic(KIT.system()));

    /** Bound: implements CborSerializable. */
    public record Bound(String text, List<Integer> numbers) implements CborSerializable {
    }

    /** Not bound, not Serializable. */
    public record Unbound(String text, List<Integer> numbers) {
    }

    /** Not bound, but java.io.Serializable (what Java serialization would have taken). */
    public record UnboundSerializable(String text, List<Integer> numbers) implements Serializable {
    }

    @AfterAll
    static void shutdown() {
        KIT.shutdownTestKit();
    }

    static int cborId() throws Exception {
        Serializer serializer = SERIALIZATION.serializerFor(Bound.class);
        assertInstanceOf(JacksonCborSerializer.class, serializer);
        return serializer.identifier();
    }

    @Test
    void javaSerializationIsOff() {
        assertFalse(KIT.system().settings().config().getBoolean("pekko.actor.allow-java-serialization"));
        assertTrue(KIT.system().settings().config().getBoolean("pekko.actor.warn-about-java-serializer-usage"));
        // The Java serializer's id (1) answers with the disabled serializer, which refuses inbound Java payloads.
        Serializer java = SERIALIZATION.serializerByIdentity().apply(1);
        assertInstanceOf(DisabledJavaSerializer.class, java);
        byte[] javaPayload = javaSerialize(new ArrayList<>(List.of("a", "b")));
        assertTrue(SERIALIZATION.deserialize(javaPayload, 1, "").isFailure(), "a Java-serialized payload deserialized");
    }

    @Test
    void aMessageThatIsNotBoundCannotBeSerialized() throws Exception {
        Unbound unbound = new Unbound("x", List.of(1));
        assertThrows(NotSerializableException.class, () -> SERIALIZATION.findSerializerFor(unbound));
        assertTrue(SERIALIZATION.serialize(unbound).isFailure());

        UnboundSerializable serializable = new UnboundSerializable("x", List.of(1));
        Serializer serializer = SERIALIZATION.findSerializerFor(serializable);
        assertFalse(serializer instanceof JavaSerializer, "Java serialization is bound: " + serializer);
        assertInstanceOf(DisabledJavaSerializer.class, serializer);
        assertTrue(SERIALIZATION.serialize(serializable).isFailure(), "an unbound Serializable message was serialized");

        // The control: a bound message round-trips through Jackson CBOR.
        Bound bound = new Bound("x", List.of(1, 2));
        Serializer cbor = SERIALIZATION.findSerializerFor(bound);
        byte[] bytes = SERIALIZATION.serialize(bound).get();
        assertEquals(bound, SERIALIZATION.deserialize(bytes, cbor.identifier(), Serializers.manifestFor(cbor, bound)).get());
    }

    @Test
    void jacksonRefusesAManifestNamingAClassThatIsNotBound() throws Exception {
        CBORMapper plain = new CBORMapper();
        int id = cborId();
        byte[] list = plain.writeValueAsBytes(List.of("a", "b"));
        byte[] record = plain.writeValueAsBytes(Map.of("text", "x", "numbers", List.of(1)));
        // The payloads are well-formed for the named classes: a plain mapper reads them.
        assertEquals(List.of("a", "b"), plain.readValue(list, ArrayList.class));
        assertEquals(new Unbound("x", List.of(1)), plain.readValue(record, Unbound.class));
        assertEquals(new Bound("x", List.of(1)), SERIALIZATION.deserialize(record, id, Bound.class.getName()).get());

        assertRefused(list, id, ArrayList.class.getName(), "Only classes that are listed as allowed");
        assertRefused(record, id, Unbound.class.getName(), "Only classes that are listed as allowed");
        assertRefused(record, id, UnboundSerializable.class.getName(), "Only classes that are listed as allowed");
        // A classic deserialization gadget is on Jackson's deny list, checked before the class is even loaded.
        assertRefused(record, id, "com.sun.org.apache.xalan.internal.xsltc.trax.TemplatesImpl", "Disallowed");
        assertRefused(record, id, "org.springframework.context.support.ClassPathXmlApplicationContext", "");
        assertRefused(record, id, "java.lang.ProcessBuilder", "");
    }

    static void assertRefused(byte[] bytes, int serializerId, String manifest, String reason) {
        scala.util.Try<Object> result = SERIALIZATION.deserialize(bytes, serializerId, manifest);
        assertTrue(result.isFailure(), manifest + " was deserialized: " + (result.isSuccess() ? result.get() : ""));
        Throwable error = result.failed().get();
        String message = String.valueOf(error.getMessage());
        assertTrue(message.contains(reason), manifest + ": " + error);
    }

    static byte[] javaSerialize(Object value) {
        try (ByteArrayOutputStream bytes = new ByteArrayOutputStream(); ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(value);
            out.flush();
            return bytes.toByteArray();
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
