package ai.eapo.actors;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.eapo.model.Checkpoint;
import ai.eapo.model.CheckpointIdentity;
import ai.eapo.model.LoraConfig;
import ai.eapo.model.PolicyModel;
import ai.eapo.model.SamplingParams;
import ai.eapo.model.WeightBytes;
import ai.eapo.model.WeightBytesTest;
import ai.eapo.model.WeightLayout;
import ai.eapo.model.WeightSnapshot;
import ai.eapo.training.MemoryBudget;

import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.SourceRef;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.StreamRefs;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.StreamSupport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Weight versions between two nodes: two actor systems named "eapo" in this JVM, joined into one cluster over
 * Artery on loopback. The learner's node runs the WeightServer; the sampler's node fetches, receives and loads.
 */
class WeightTransferTest {

    static final ActorTestKit LEARNER_NODE = ActorTestKit.create("eapo", SamplerTest.testConfig());
    static final ActorTestKit SAMPLER_NODE = ActorTestKit.create("eapo", SamplerTest.testConfig());
    static final PolicyModel TINY = Checkpoint.load(Path.of("models/tiny-base"), Device.cpu());
    static final Duration WAIT = Duration.ofSeconds(60);
    static final AtomicInteger VERSIONS = new AtomicInteger();

    static {
        var learner = Cluster.get(LEARNER_NODE.system());
        learner.manager().tell(Join.create(learner.selfMember().address()));
        Cluster.get(SAMPLER_NODE.system()).manager().tell(Join.create(learner.selfMember().address()));
        LEARNER_NODE.createTestProbe().awaitAssert(Duration.ofSeconds(30), () -> {
            for (ActorTestKit node : List.of(LEARNER_NODE, SAMPLER_NODE)) {
                var members = StreamSupport.stream(Cluster.get(node.system()).state().getMembers().spliterator(), false).toList();
                assertEquals(2, members.size());
                assertTrue(members.stream().allMatch(m -> m.status() == MemberStatus.up()));
            }
            return null;
        });
    }

    @AfterAll
    static void shutdown() {
        SAMPLER_NODE.shutdownTestKit();
        LEARNER_NODE.shutdownTestKit();
        TINY.close();
    }

    /** {@code ref}, an actor of node {@code from}, as node {@code to} reaches it (over the network). */
    static <T> ActorRef<T> seenFrom(ActorTestKit to, ActorTestKit from, ActorRef<T> ref) {
        String path = ActorRefResolver.get(from.system()).toSerializationFormat(ref);
        return ActorRefResolver.get(to.system()).resolveActorRef(path);
    }

    static PolicyModel otherModel() {
        return PolicyModel.random(TINY.config(), Device.cpu(), 3, 0.5f);
    }

    static Map<String, float[]> values(PolicyModel model) {
        Map<String, float[]> values = new LinkedHashMap<>();
        model.parameters().forEach((name, w) -> values.put(name, w.toFloatArray()));
        return values;
    }

    static void assertSameWeights(Map<String, float[]> expected, PolicyModel model) {
        Map<String, float[]> actual = values(model);
        assertEquals(expected.keySet(), actual.keySet());
        expected.forEach((name, v) -> assertArrayEquals(v, actual.get(name), 0f, name));
    }

    /** A server on the learner's node with the tiny model published as a fresh version; the sampler's node sees it. */
    record Served(ActorRef<WeightServer.Command> server, ActorRef<WeightServer.Command> remote, long version,
                  WeightSnapshot snapshot) {
    }

    static Served serve() {
        ActorRef<WeightServer.Command> server = LEARNER_NODE.spawn(WeightServer.create(SamplingParams.PLAIN, null));
        long version = VERSIONS.incrementAndGet();
        WeightSnapshot snapshot = WeightSnapshot.of(TINY, version);
        server.tell(new WeightServer.Publish(snapshot));
        return new Served(server, seenFrom(SAMPLER_NODE, LEARNER_NODE, server), version, snapshot);
    }

    /** The version's bytes as the server would stream them, in chunks. */
    static List<ByteString> chunks(WeightBytes bytes, int chunkBytes) {
        return WeightServer.chunks(bytes, chunkBytes).runWith(org.apache.pekko.stream.javadsl.Sink.seq(),
                Materializer.matFromSystem(LEARNER_NODE.system())).toCompletableFuture().join();
    }

    /**
     * An offer of {@code chunks} as the learner's node makes one (a SourceRef there), delivered to the sampler's
     * node over the network, so the chunks cross nodes as a real transfer's do.
     */
    static WeightServer.Streamed offerAcross(WeightBytes announced, Source<ByteString, ?> chunks) {
        SourceRef<ByteString> ref = chunks.runWith(StreamRefs.sourceRef(), Materializer.matFromSystem(LEARNER_NODE.system()));
        TestProbe<WeightServer.Offer> receiver = SAMPLER_NODE.createTestProbe();
        seenFrom(LEARNER_NODE, SAMPLER_NODE, receiver.ref())
                .tell(new WeightServer.Streamed(announced.version(), announced.checksum(), announced.layout(), ref));
        return receiver.expectMessageClass(WeightServer.Streamed.class, WAIT);
    }

    static WeightTransfer.Failed failureOf(java.util.concurrent.CompletionStage<?> transfer) throws InterruptedException {
        try {
            transfer.toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            return assertInstanceOf(WeightTransfer.Failed.class, e.getCause());
        } catch (java.util.concurrent.TimeoutException e) {
            throw new AssertionError("the transfer neither completed nor failed", e);
        }
        throw new AssertionError("the transfer succeeded");
    }

    @Test
    void aSamplerOnAnotherNodeSamplingAtAnotherTemperatureIsRefusedWithBothSettingsNamed() {
        Served served = serve();
        TestProbe<Sampler.Command> sampler = SAMPLER_NODE.createTestProbe();
        served.remote().tell(new WeightServer.Subscribe(sampler.ref(), new SamplingParams(0.7, 1.0, 0), null));
        String reason = sampler.expectMessageClass(Sampler.Refused.class, WAIT).reason();
        assertTrue(reason.contains("temperature 0.7, top-p 1.0, top-k 0") && reason.contains("the learner with "
                + "temperature 1.0, top-p 1.0, top-k 0"), reason);
        served.server().tell(new WeightServer.Publish(WeightSnapshot.of(TINY, served.version() + 1)));
        sampler.expectNoMessage(Duration.ofMillis(300)); // never subscribed: no announcement

        // A sampler decoding LoRA adapters on a base, for a learner that publishes whole weights: refused too.
        TestProbe<Sampler.Command> adapted = SAMPLER_NODE.createTestProbe();
        CheckpointIdentity base = new CheckpointIdentity("/models/base", "sha256:0123456789abcdef");
        served.remote().tell(new WeightServer.Subscribe(adapted.ref(), SamplingParams.PLAIN, base));
        String why = adapted.expectMessageClass(Sampler.Refused.class, WAIT).reason();
        assertTrue(why.contains("/models/base (sha256:0123456789abcdef)") && why.contains("whole weights"), why);
    }

    @Test
    void aRemoteSamplerIsAnnouncedTheVersionStreamedItAndLoadsIdenticalWeights() throws Exception {
        Served served = serve();
        TestProbe<Sampler.Command> sampler = SAMPLER_NODE.createTestProbe();
        served.remote().tell(new WeightServer.Subscribe(sampler.ref(), SamplingParams.PLAIN, null));
        Sampler.WeightsPublished published = sampler.expectMessageClass(Sampler.WeightsPublished.class, WAIT);
        assertEquals(served.version(), published.version());
        assertEquals(WeightLayout.of(TINY), published.layout());
        assertEquals(WeightBytes.of(served.snapshot()).checksum(), published.checksum());
        assertTrue(published.checksum().matches("crc32c:[0-9a-f]{8}"), published.checksum());
        assertEquals(served.remote(), published.server());

        TestProbe<WeightServer.Offer> offers = SAMPLER_NODE.createTestProbe();
        published.server().tell(new WeightServer.Fetch(published.version(), offers.ref()));
        WeightServer.Streamed streamed = offers.expectMessageClass(WeightServer.Streamed.class, WAIT);
        WeightBytes received = new WeightTransfer(SAMPLER_NODE.system()).receive(streamed).toCompletableFuture()
                .get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertEquals(published.checksum(), received.checksum());
        assertEquals(WeightLayout.of(TINY).totalBytes(), received.length());

        try (PolicyModel replica = otherModel()) {
            received.loadInto(replica);
            assertSameWeights(values(TINY), replica);
        }

        // A late subscriber is told the newest version at once.
        TestProbe<Sampler.Command> late = SAMPLER_NODE.createTestProbe();
        served.remote().tell(new WeightServer.Subscribe(late.ref(), SamplingParams.PLAIN, null));
        assertEquals(served.version(), late.expectMessageClass(Sampler.WeightsPublished.class, WAIT).version());
    }

    @Test
    void aLoraLearnersRemoteSamplerReceivesAdaptersOnlyAndACorruptTransferIsRetriedNeverLoaded() throws Exception {
        LoraConfig lora = new LoraConfig(8, 16, 0, List.of("q_proj", "v_proj", "o_proj", "down_proj"));
        CheckpointIdentity base = CheckpointIdentity.of(Path.of("models/tiny-base"));
        try (PolicyModel learner = TINY.withLora(lora, 7);
             PolicyModel samplerBase = Checkpoint.load(Path.of("models/tiny-base"), Device.cpu());
             PolicyModel replica = samplerBase.withLora(lora, 8)) {
            // Trained adapters: B away from zero, so a version changes what the replica computes.
            learner.updateWeights(() -> learner.parameters().forEach((name, a) -> {
                try (NDArray view = a.stopGradient(); NDArray shifted = view.add(0.01f)) {
                    view.set(new ai.djl.ndarray.index.NDIndex("..."), shifted);
                }
            }));
            ActorRef<WeightServer.Command> server = LEARNER_NODE.spawn(WeightServer.create(SamplingParams.PLAIN, base));
            long version = VERSIONS.incrementAndGet();
            WeightSnapshot snapshot = WeightSnapshot.of(learner, version);
            server.tell(new WeightServer.Publish(snapshot));
            ActorRef<WeightServer.Command> remote = seenFrom(SAMPLER_NODE, LEARNER_NODE, server);

            TestProbe<Sampler.Command> sampler = SAMPLER_NODE.createTestProbe();
            remote.tell(new WeightServer.Subscribe(sampler.ref(), SamplingParams.PLAIN, base));
            Sampler.WeightsPublished published = sampler.expectMessageClass(Sampler.WeightsPublished.class, WAIT);
            // The version is the adapters: their layout, their bytes (about a tenth of the tiny model's here).
            assertEquals(WeightLayout.of(learner.parameters()), published.layout());
            long adapterBytes = MemoryBudget.adapterBytes(TINY.config(), lora);
            assertEquals(adapterBytes, published.layout().totalBytes());
            assertTrue(adapterBytes * 5 < WeightLayout.of(TINY).totalBytes(), adapterBytes + " bytes of adapters");

            Map<String, float[]> before = values(replica);
            WeightBytes bytes = WeightBytes.of(snapshot);
            List<ByteString> corrupted = new ArrayList<>(chunks(bytes, 16 * 1024));
            byte[] flipped = corrupted.get(1).toArray();
            flipped[7] ^= 0x40;
            corrupted.set(1, ByteString.fromArray(flipped));
            WeightTransfer transfer = new WeightTransfer(SAMPLER_NODE.system(),
                    new WeightTransfer.Settings(Duration.ofSeconds(30), 3, Duration.ofMillis(100)));
            List<Integer> attempts = new ArrayList<>();
            CompletableFuture<Throwable> firstFailure = new CompletableFuture<>();
            // The sampler's recipe (fetch, receive, load only what verified): the first stream is corrupted.
            WeightBytes received = transfer.withRetries(attempt -> {
                attempts.add(attempt);
                if (attempt == 1) {
                    return transfer.receive(offerAcross(bytes, Source.from(corrupted)))
                            .whenComplete((ignored, failure) -> firstFailure.complete(failure));
                }
                return AskPattern.<WeightServer.Command, WeightServer.Offer>ask(published.server(),
                                replyTo -> new WeightServer.Fetch(version, replyTo), WAIT, SAMPLER_NODE.scheduler())
                        .thenCompose(offer -> transfer.receive((WeightServer.Streamed) offer));
            }).toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertEquals(List.of(1, 2), attempts);
            Throwable corrupt = firstFailure.getNow(null);
            assertEquals(WeightTransfer.Failed.Reason.CORRUPT, assertInstanceOf(WeightTransfer.Failed.class,
                    corrupt instanceof java.util.concurrent.CompletionException ? corrupt.getCause() : corrupt).reason());
            assertSameWeights(before, replica); // nothing of the corrupt stream reached the replica
            assertEquals(published.checksum(), received.checksum());
            assertEquals(adapterBytes, received.length());

            received.loadInto(replica);
            assertSameWeights(values(learner), replica);
            try (ai.djl.ndarray.NDManager m = ai.djl.ndarray.NDManager.newBaseManager()) {
                NDArray ids = m.create(new long[]{3, 9, 4, 1, 7, 2}, new ai.djl.ndarray.types.Shape(1, 6));
                assertArrayEquals(learner.logits(ids).toFloatArray(), replica.logits(ids).toFloatArray(), 1e-6f,
                        "the sampler's base with the received adapters computes what the learner's does");
            }
            LEARNER_NODE.stop(server);
        }
    }

    @Test
    void chunksLargerThanAFrameAreCutToFit() throws Exception {
        assertEquals(1024 * 1024 - WeightServer.FRAME_OVERHEAD, WeightServer.largestChunk(SamplerTest.testConfig()));
        ActorRef<WeightServer.Command> server = LEARNER_NODE.spawn(WeightServer.create(8 * 1024 * 1024, SamplingParams.PLAIN, null));
        WeightSnapshot snapshot = WeightSnapshot.of(TINY, VERSIONS.incrementAndGet());
        server.tell(new WeightServer.Publish(snapshot));
        TestProbe<WeightServer.Offer> offers = SAMPLER_NODE.createTestProbe();
        seenFrom(SAMPLER_NODE, LEARNER_NODE, server).tell(new WeightServer.Fetch(snapshot.version(), offers.ref()));
        WeightServer.Streamed streamed = offers.expectMessageClass(WeightServer.Streamed.class, WAIT);
        WeightBytes received = new WeightTransfer(SAMPLER_NODE.system()).receive(streamed).toCompletableFuture()
                .get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertEquals(streamed.checksum(), received.checksum());
    }

    @Test
    void aVersionInManySegmentsIsStreamedSegmentBySegmentAndArrivesWhole() throws Exception {
        // Segments of 1 MiB + 3 bytes: tensors and floats straddle them, and 64 KiB chunks do not divide them.
        int segmentBytes = 1024 * 1024 + 3;
        int chunkBytes = 64 * 1024;
        WeightSnapshot snapshot = WeightSnapshot.of(TINY, 0);
        WeightBytes bytes;
        try {
            bytes = WeightBytesTest.inSegments(snapshot, segmentBytes);
        } finally {
            snapshot.release();
        }
        assertTrue(bytes.segments().size() > 1, bytes.segments().size() + " segments");
        List<ByteString> chunks = chunks(bytes, chunkBytes);
        // No chunk crosses a segment: each segment is cut on its own, its last chunk shorter.
        int perSegment = (segmentBytes + chunkBytes - 1) / chunkBytes;
        int last = bytes.segments().get(bytes.segments().size() - 1).length;
        assertEquals((bytes.segments().size() - 1) * perSegment + (last + chunkBytes - 1) / chunkBytes, chunks.size());
        assertEquals(segmentBytes - (perSegment - 1) * chunkBytes, chunks.get(perSegment - 1).size());

        WeightBytes received = new WeightTransfer(SAMPLER_NODE.system()).receive(offerAcross(bytes, Source.from(chunks)))
                .toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        WeightBytes oneSegment = bytesOfTiny();
        assertEquals(oneSegment.checksum(), bytes.checksum());
        assertEquals(oneSegment.checksum(), received.checksum());
        assertArrayEquals(oneSegment.bytes(), received.bytes());
    }

    @Test
    void aSamplerInTheLearnersJvmIsSharedTheSnapshot() {
        Served served = serve();
        // With local subscribers only, no host copy is taken: the announcement has no checksum.
        TestProbe<Sampler.Command> local = LEARNER_NODE.createTestProbe();
        served.server().tell(new WeightServer.Subscribe(local.ref(), SamplingParams.PLAIN, null));
        assertEquals(null, local.expectMessageClass(Sampler.WeightsPublished.class, WAIT).checksum());
        TestProbe<WeightServer.Offer> offers = LEARNER_NODE.createTestProbe();
        served.server().tell(new WeightServer.Fetch(served.version(), offers.ref()));
        WeightServer.Shared shared = offers.expectMessageClass(WeightServer.Shared.class, WAIT);
        assertEquals(served.version(), shared.version());
        assertTrue(shared.snapshot() == served.snapshot(), "the learner's own copy, not a new one");
        try (PolicyModel replica = otherModel()) {
            assertTrue(shared.snapshot().loadInto(replica));
            assertSameWeights(values(TINY), replica);
        }
    }

    @Test
    void aVersionNoLongerHeldIsSupersededAndItsSnapshotReleased() {
        Served served = serve();
        WeightSnapshot newer = WeightSnapshot.of(TINY, served.version() + 1);
        served.server().tell(new WeightServer.Publish(newer));
        TestProbe<WeightServer.Offer> offers = SAMPLER_NODE.createTestProbe();
        served.remote().tell(new WeightServer.Fetch(served.version(), offers.ref()));
        assertEquals(new WeightServer.Superseded(served.version() + 1), offers.expectMessageClass(WeightServer.Superseded.class, WAIT));
        assertFalse(served.snapshot().retain(), "the server released the replaced version");
        TestProbe<WeightServer.Offer> local = LEARNER_NODE.createTestProbe();
        served.server().tell(new WeightServer.Fetch(served.version() + 5, local.ref()));
        assertEquals(new WeightServer.Superseded(served.version() + 1), local.expectMessageClass(WeightServer.Superseded.class, WAIT));

        LEARNER_NODE.stop(served.server());
        LEARNER_NODE.createTestProbe().awaitAssert(() -> {
            assertFalse(newer.retain(), "a stopped server releases its version");
            return null;
        });
    }

    @Test
    void aCorruptedChunkIsRejectedAndNothingIsLoaded() throws Exception {
        WeightBytes bytes = bytesOfTiny();
        List<ByteString> chunks = new ArrayList<>(chunks(bytes, 64 * 1024));
        byte[] flipped = chunks.get(3).toArray();
        flipped[100] ^= 0x10;
        chunks.set(3, ByteString.fromArray(flipped));

        try (PolicyModel replica = otherModel()) {
            Map<String, float[]> before = values(replica);
            WeightTransfer.Failed failed = failureOf(new WeightTransfer(SAMPLER_NODE.system())
                    .receive(offerAcross(bytes, Source.from(chunks)))
                    .thenAccept(received -> received.loadInto(replica)));
            assertEquals(WeightTransfer.Failed.Reason.CORRUPT, failed.reason());
            assertTrue(failed.getMessage().contains(bytes.checksum()), failed.getMessage());
            assertSameWeights(before, replica);
        }
    }

    @Test
    void moreBytesThanTheLayoutAreCorrupt() throws Exception {
        WeightBytes bytes = bytesOfTiny();
        Source<ByteString, ?> longer = Source.from(chunks(bytes, 64 * 1024)).concat(Source.single(ByteString.fromArray(new byte[4])));
        WeightTransfer.Failed failed = failureOf(new WeightTransfer(SAMPLER_NODE.system()).receive(offerAcross(bytes, longer)));
        assertEquals(WeightTransfer.Failed.Reason.CORRUPT, failed.reason());
    }

    @Test
    void aStreamThatEndsEarlyIsShort() throws Exception {
        WeightBytes bytes = bytesOfTiny();
        List<ByteString> chunks = chunks(bytes, 64 * 1024);
        WeightTransfer.Failed failed = failureOf(new WeightTransfer(SAMPLER_NODE.system())
                .receive(offerAcross(bytes, Source.from(chunks.subList(0, chunks.size() - 1)))));
        assertEquals(WeightTransfer.Failed.Reason.SHORT, failed.reason());
    }

    @Test
    void aStreamThatFailsMidwayFailsTheTransfer() throws Exception {
        WeightBytes bytes = bytesOfTiny();
        // Five chunks, then (once they have surely arrived) a failure.
        Source<ByteString, ?> failing = Source.from(chunks(bytes, 64 * 1024).subList(0, 5))
                .concat(Source.single(ByteString.emptyByteString()).initialDelay(Duration.ofMillis(500))
                        .map(nothing -> {
                            throw new IllegalStateException("the learner's node went away");
                        }));
        try (PolicyModel replica = otherModel()) {
            Map<String, float[]> before = values(replica);
            WeightTransfer.Failed failed = failureOf(new WeightTransfer(SAMPLER_NODE.system())
                    .receive(offerAcross(bytes, failing)).thenAccept(received -> received.loadInto(replica)));
            assertEquals(WeightTransfer.Failed.Reason.BROKEN, failed.reason());
            assertTrue(failed.getMessage().contains("went away") && failed.getMessage().contains(5 * 64 * 1024 + " of "),
                    failed.getMessage());
            assertSameWeights(before, replica);
        }
    }

    @Test
    void aStalledStreamTimesOut() throws Exception {
        WeightBytes bytes = bytesOfTiny();
        Source<ByteString, ?> stalled = Source.from(chunks(bytes, 64 * 1024).subList(0, 2)).concat(Source.never());
        WeightTransfer transfer = new WeightTransfer(SAMPLER_NODE.system(),
                new WeightTransfer.Settings(Duration.ofSeconds(1), 1, Duration.ZERO));
        WeightTransfer.Failed failed = failureOf(transfer.receive(offerAcross(bytes, stalled)));
        assertEquals(WeightTransfer.Failed.Reason.TIMED_OUT, failed.reason());
    }

    @Test
    void aFailedTransferIsRetriedWithANewFetch() throws Exception {
        Served served = serve();
        WeightBytes bytes = WeightBytes.of(served.snapshot());
        List<ByteString> chunks = chunks(bytes, 64 * 1024);
        WeightTransfer transfer = new WeightTransfer(SAMPLER_NODE.system(),
                new WeightTransfer.Settings(Duration.ofSeconds(30), 3, Duration.ofMillis(100)));
        List<Integer> attempts = new ArrayList<>();
        // The sampler's recipe: fetch, receive if streamed; the first attempt is handed a truncated stream.
        Optional<WeightBytes> received = transfer.withRetries(attempt -> {
            attempts.add(attempt);
            if (attempt == 1) {
                return transfer.receive(offerAcross(bytes, Source.from(chunks.subList(0, 3)))).thenApply(Optional::of);
            }
            return AskPattern.<WeightServer.Command, WeightServer.Offer>ask(served.remote(),
                            replyTo -> new WeightServer.Fetch(served.version(), replyTo), WAIT, SAMPLER_NODE.scheduler())
                    .thenCompose(offer -> offer instanceof WeightServer.Streamed streamed
                            ? transfer.receive(streamed).thenApply(Optional::of)
                            : CompletableFuture.completedStage(Optional.<WeightBytes>empty()));
        }).toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertEquals(List.of(1, 2), attempts);
        assertEquals(bytes.checksum(), received.orElseThrow().checksum());

        // Every attempt failing: the last failure comes back.
        WeightTransfer.Failed failed = failureOf(transfer.withRetries(
                attempt -> transfer.receive(offerAcross(bytes, Source.from(chunks.subList(0, 1))))));
        assertEquals(WeightTransfer.Failed.Reason.SHORT, failed.reason());
    }

    @Test
    void bytesOfAnotherLayoutAreRefusedNamingTheTensor() {
        WeightBytes bytes = bytesOfTiny();
        try (PolicyModel other = SamplerTest.randomModel(1)) {
            Map<String, float[]> before = values(other);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> bytes.loadInto(other));
            assertTrue(e.getMessage().contains("'model.embed_tokens.weight'"), e.getMessage());
            assertSameWeights(before, other);
        }
    }

    @Test
    void bytesRoundTripThroughVerificationAndBothChecksumAlgorithms() {
        WeightBytes bytes = bytesOfTiny();
        byte[] copy = bytes.bytes().clone();
        assertEquals(bytes.checksum(), WeightBytes.verified(bytes.version(), bytes.layout(), bytes.checksum(), copy).checksum());
        copy[copy.length - 1] ^= 1;
        WeightBytes.Rejected corrupt = assertThrows(WeightBytes.Rejected.class,
                () -> WeightBytes.verified(bytes.version(), bytes.layout(), bytes.checksum(), copy));
        assertEquals(WeightBytes.Rejected.Reason.CORRUPT, corrupt.reason());
        assertEquals(WeightBytes.Rejected.Reason.SHORT, assertThrows(WeightBytes.Rejected.class,
                () -> WeightBytes.verified(1, bytes.layout(), bytes.checksum(), Arrays.copyOf(copy, 8))).reason());
        assertThrows(IllegalArgumentException.class, () -> WeightBytes.receive(1, bytes.layout(), "md5:00"));

        String sha = "sha256:" + java.util.HexFormat.of().formatHex(sha256(bytes.bytes()));
        assertEquals(sha, WeightBytes.verified(1, bytes.layout(), sha, bytes.bytes()).checksum());
        // Little-endian fp32 in layout order: the first value is the first tensor's first element.
        NDArray first = TINY.parameters().values().iterator().next();
        assertEquals(first.toFloatArray()[0],
                java.nio.ByteBuffer.wrap(bytes.bytes()).order(java.nio.ByteOrder.LITTLE_ENDIAN).getFloat(0));
    }

    static WeightBytes bytesOfTiny() {
        WeightSnapshot snapshot = WeightSnapshot.of(TINY, 0);
        try {
            return WeightBytes.of(snapshot);
        } finally {
            snapshot.release();
        }
    }

    static byte[] sha256(byte[] bytes) {
        try {
            return java.security.MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
