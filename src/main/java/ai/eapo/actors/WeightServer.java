package ai.eapo.actors;

import ai.eapo.model.CheckpointIdentity;
import ai.eapo.model.SamplingParams;
import ai.eapo.model.WeightBytes;
import ai.eapo.model.WeightLayout;
import ai.eapo.model.WeightSnapshot;

import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.SourceRef;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.StreamRefs;
import org.apache.pekko.util.ByteString;
import com.typesafe.config.Config;

import java.util.HashSet;
import java.util.Optional;
import java.util.Set;

/**
 * Serves the learner's weight versions to the samplers, on the learner's node. The Learner hands it
 * each new version ({@link Publish}); the server takes the version's bytes and checksum ({@link WeightBytes}),
 * then announces it to every subscribed sampler ({@link Sampler.WeightsPublished}: version, checksum, layout,
 * this server). A sampler answers with {@link Fetch}: one on another node is {@link Streamed} a one-off
 * stream of chunks ({@code eapo.weights.chunk-bytes} each) over Pekko StreamRefs, which pull with backpressure,
 * and verifies it with {@link WeightTransfer}; one in this JVM is {@link Shared} the snapshot itself. A fetch
 * of a version the server no longer holds is answered {@link Superseded}: the sampler waits for the next
 * announcement. Only the newest version is held; a stream already running keeps its bytes to the end.
 *
 * <p>Samplers {@link Subscribe} (found through the receptionist on other nodes) and are told the newest
 * version at once, so a sampler that starts or restarts late does not wait for the next step; a subscriber is
 * dropped when it stops.
 *
 * <p>Taking the bytes of a version (a host copy and a CRC32C pass, about 0.1 s per 100 MB) runs on this
 * actor's thread, and only once some sampler on another node subscribes: give it the compute dispatcher.
 */
public final class WeightServer extends AbstractBehavior<WeightServer.Command> {

    /** How samplers on other nodes find the server. */
    public static final ServiceKey<Command> SERVICE_KEY = ServiceKey.create(Command.class, "eapo-weight-server");

    public sealed interface Command {
    }

    /**
     * A new version, from the Learner in this JVM (never crosses nodes). The server owns the snapshot's
     * reference from then on and releases it when a newer version replaces it or the server stops.
     */
    public record Publish(WeightSnapshot snapshot) implements Command {
    }

    /**
     * A sampler wants the announcements; it is told the newest version at once, or {@link Sampler.Refused}
     * when its {@code sampling} settings or its LoRA {@code base} (null: none) are not the learner's.
     */
    public record Subscribe(ActorRef<Sampler.Command> sampler, SamplingParams sampling, CheckpointIdentity base)
            implements Command, CborSerializable {
    }

    /** A sampler asks for version {@code version}. */
    public record Fetch(long version, ActorRef<Offer> replyTo) implements Command, CborSerializable {
    }

    /** The answer to a {@link Fetch}. */
    public sealed interface Offer {
    }

    /**
     * The version as a stream of chunks for a sampler on another node: materialize {@code chunks} once, within
     * {@code pekko.stream.materializer.stream-ref.subscription-timeout} (see {@link WeightTransfer#receive}).
     */
    public record Streamed(long version, String checksum, WeightLayout layout, SourceRef<ByteString> chunks)
            implements Offer, CborSerializable {
    }

    /**
     * The version itself, for a sampler in this JVM: load it with {@link WeightSnapshot#loadInto}, which
     * answers false when a newer version has replaced it meanwhile. Never crosses nodes.
     */
    public record Shared(long version, WeightSnapshot snapshot) implements Offer {
    }

    /**
     * The version asked for is not held (or its weights moved on before their bytes were taken); {@code latestVersion}
     * is the newest published (−1 when none has been published yet). The sampler waits for the next announcement.
     */
    public record Superseded(long latestVersion) implements Offer, CborSerializable {
    }

    private record SubscriberStopped(ActorRef<Sampler.Command> sampler) implements Command {
    }

    /** Room in a frame for the envelope (recipient and sender paths, manifests) and the chunk's sequence number. */
    static final int FRAME_OVERHEAD = 4096;

    private final int chunkBytes;
    /** The learner's sampling settings: its log-probs are recomputed at this temperature. */
    private final SamplingParams sampling;
    /** The frozen base of the learner's LoRA adapters, or null when versions are whole weights. */
    private final CheckpointIdentity base;
    private final Materializer materializer;
    private final Set<ActorRef<Sampler.Command>> subscribers = new HashSet<>();
    private WeightSnapshot snapshot;
    private WeightBytes bytes;
    private Sampler.WeightsPublished announced;

    /**
     * A server for a learner sampling with {@code sampling}, with chunks of {@code eapo.weights.chunk-bytes},
     * registered with the receptionist.
     */
    public static Behavior<Command> create(SamplingParams sampling, CheckpointIdentity base) {
        return Behaviors.setup(context -> start(context,
                context.getSystem().settings().config().getMemorySize("eapo.weights.chunk-bytes").toBytes(), sampling,
                base));
    }

    /** A server with chunks of {@code chunkBytes}, registered with the receptionist. */
    public static Behavior<Command> create(int chunkBytes, SamplingParams sampling, CheckpointIdentity base) {
        return Behaviors.setup(context -> start(context, chunkBytes, sampling, base));
    }

    private static WeightServer start(ActorContext<Command> context, long chunkBytes, SamplingParams sampling,
                                      CheckpointIdentity base) {
        context.getSystem().receptionist().tell(Receptionist.register(SERVICE_KEY, context.getSelf()));
        long limit = largestChunk(context.getSystem().settings().config());
        if (chunkBytes > limit) {
            // Artery would drop every larger chunk, and every transfer would time out.
            context.getLog().warn("eapo.weights.chunk-bytes = {} does not fit Artery's frames; streaming chunks of {} bytes",
                    chunkBytes, limit);
            chunkBytes = limit;
        }
        return new WeightServer(context, chunkBytes(chunkBytes), sampling, base);
    }

    /**
     * The largest chunk a frame carries: {@code maximum-frame-size}, or {@code maximum-large-frame-size} when a
     * large-message lane is configured (it is meant for the stream refs' actors, see conf/application.conf),
     * less room for the envelope and the stream ref's sequence number.
     */
    static long largestChunk(Config config) {
        String artery = "pekko.remote.artery.";
        if (!config.hasPath(artery + "advanced.maximum-frame-size")) {
            return Integer.MAX_VALUE;
        }
        long frame = config.getMemorySize(artery + "advanced.maximum-frame-size").toBytes();
        if (!config.getStringList(artery + "large-message-destinations").isEmpty()) {
            frame = Math.max(frame, config.getMemorySize(artery + "advanced.maximum-large-frame-size").toBytes());
        }
        return frame - FRAME_OVERHEAD;
    }

    private WeightServer(ActorContext<Command> context, int chunkBytes, SamplingParams sampling,
                         CheckpointIdentity base) {
        super(context);
        this.chunkBytes = chunkBytes;
        this.sampling = sampling;
        this.base = base;
        // Streams end with this actor.
        this.materializer = Materializer.createMaterializer(context);
    }

    /**
     * {@code bytes} in order, as chunks of at most {@code chunkBytes} that share its segments (they are never
     * modified); a chunk never crosses a segment, so the last one of each segment may be shorter.
     */
    public static Source<ByteString, NotUsed> chunks(WeightBytes bytes, int chunkBytes) {
        int size = chunkBytes(chunkBytes);
        return Source.from(bytes.segments()).flatMapConcat(segment -> chunks(segment, size));
    }

    private static Source<ByteString, NotUsed> chunks(byte[] segment, int size) {
        return Source.unfold(0, offset -> offset >= segment.length ? Optional.empty()
                : Optional.of(Pair.create(offset + Math.min(size, segment.length - offset),
                ByteString.fromArrayUnsafe(segment, offset, Math.min(size, segment.length - offset)))));
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Publish.class, this::onPublish)
                .onMessage(Fetch.class, this::onFetch)
                .onMessage(Subscribe.class, this::onSubscribe)
                .onMessage(SubscriberStopped.class, stopped -> {
                    subscribers.remove(stopped.sampler());
                    return this;
                })
                .onSignal(PostStop.class, signal -> {
                    releaseSnapshot();
                    return this;
                })
                .build();
    }

    private Behavior<Command> onPublish(Publish publish) {
        WeightSnapshot next = publish.snapshot();
        if (snapshot != null && next.version() <= snapshot.version()) {
            getContext().getLog().warn("weight version {} published after version {}: ignored", next.version(), snapshot.version());
            next.release();
            return this;
        }
        releaseSnapshot();
        snapshot = next;
        if (subscribers.stream().anyMatch(WeightServer::isRemote)) {
            takeBytes();
        }
        announce();
        subscribers.forEach(sampler -> sampler.tell(announced));
        return this;
    }

    private void announce() {
        announced = new Sampler.WeightsPublished(snapshot.version(), bytes == null ? null : bytes.checksum(),
                snapshot.layout(), getContext().getSelf());
    }

    /**
     * Takes the current version's bytes and checksum, once, when a sampler on another node needs them: samplers
     * in this JVM load the shared snapshot, so a one-JVM run never pays for the host copy. False when there are
     * none to take: nothing published yet, or the learner's weights moved on past this version before a remote
     * sampler asked (its next version is announced soon).
     */
    private boolean takeBytes() {
        if (bytes != null) {
            return true;
        }
        if (snapshot == null) {
            return false;
        }
        try {
            bytes = WeightBytes.of(snapshot);
        } catch (WeightBytes.Unreadable movedOn) {
            return false;
        }
        announce();
        return true;
    }

    private static boolean isRemote(ActorRef<?> ref) {
        return !ref.path().address().hasLocalScope();
    }

    private Behavior<Command> onSubscribe(Subscribe subscribe) {
        ActorRef<Sampler.Command> sampler = subscribe.sampler();
        String mismatch = sampling.mismatch("the learner", subscribe.sampling(), "sampler " + sampler.path());
        if (mismatch == null) {
            mismatch = CheckpointIdentity.mismatch(base, subscribe.base(), "sampler " + sampler.path());
        }
        if (mismatch != null) {
            getContext().getLog().error("refused {}: {}", sampler.path(), mismatch);
            sampler.tell(new Sampler.Refused(mismatch));
            return this;
        }
        if (subscribers.add(sampler)) {
            getContext().watchWith(sampler, new SubscriberStopped(sampler));
        }
        if (isRemote(sampler)) {
            takeBytes();
        }
        if (announced != null) {
            sampler.tell(announced);
        }
        return this;
    }

    private Behavior<Command> onFetch(Fetch fetch) {
        if (snapshot == null || fetch.version() != snapshot.version()) {
            fetch.replyTo().tell(new Superseded(snapshot == null ? -1 : snapshot.version()));
        } else if (!isRemote(fetch.replyTo())) {
            fetch.replyTo().tell(new Shared(snapshot.version(), snapshot));
        } else if (!takeBytes()) {
            fetch.replyTo().tell(new Superseded(snapshot.version()));
        } else {
            SourceRef<ByteString> chunks = chunks(bytes, chunkBytes).runWith(StreamRefs.sourceRef(), materializer);
            fetch.replyTo().tell(new Streamed(bytes.version(), bytes.checksum(), bytes.layout(), chunks));
        }
        return this;
    }

    private void releaseSnapshot() {
        if (snapshot != null) {
            snapshot.release();
            snapshot = null;
            bytes = null;
            announced = null;
        }
    }

    private static int chunkBytes(long chunkBytes) {
        if (chunkBytes <= 0 || chunkBytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("eapo.weights.chunk-bytes must be between 1 byte and 2 GiB, not " + chunkBytes);
        }
        return (int) chunkBytes;
    }
}
