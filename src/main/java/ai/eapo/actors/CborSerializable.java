package ai.eapo.actors;

/**
 * Marks messages that may cross nodes: they are serialized with Jackson CBOR (bound in
 * {@code conf/application.conf}); Java serialization stays off.
 */
public interface CborSerializable {
}
