package ai.eapo.actors;

import ai.eapo.model.PolicyModel;
import ai.eapo.model.WeightBytes;
import ai.eapo.model.WeightSnapshot;

import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.AskPattern;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * A sampler's side of weight versions: remembers the newest version the WeightServer announced and fetches it
 * when the sampler's replica is behind, one fetch at a time. A sampler on another node is streamed the bytes
 * ({@link WeightTransfer}, verified, retried on failure); one in the learner's JVM is handed the live snapshot.
 * The outcome comes back to the sampler as {@link Sampler.WeightsFetched}, which loads it between decode steps.
 */
final class WeightFetcher {

    /** What a fetch brought. */
    sealed interface Fetched {
        /** Loads the version into {@code replica}; false when there was nothing to load (superseded meanwhile). */
        boolean loadInto(PolicyModel replica);
    }

    /** Verified bytes streamed from the learner's node. */
    record Received(WeightBytes bytes) implements Fetched {
        @Override
        public boolean loadInto(PolicyModel replica) {
            bytes.loadInto(replica);
            return true;
        }
    }

    /** The learner's live snapshot, in its JVM: false when the learner's weights moved on before the copy. */
    record Shared(WeightSnapshot snapshot) implements Fetched {
        @Override
        public boolean loadInto(PolicyModel replica) {
            return snapshot.loadInto(replica);
        }
    }

    /** The server holds a newer version by now; its announcement follows. */
    record Superseded() implements Fetched {
        @Override
        public boolean loadInto(PolicyModel replica) {
            return false;
        }
    }

    private final ActorContext<Sampler.Command> context;
    private final WeightTransfer transfer;
    private final PipelineActivity activity;
    private Sampler.WeightsPublished latest;
    private boolean fetching;

    /** {@code activity}: counts the bytes streamed in and the failed attempts. */
    WeightFetcher(ActorContext<Sampler.Command> context, PipelineActivity activity) {
        this.context = context;
        this.transfer = new WeightTransfer(context.getSystem());
        this.activity = activity;
    }

    /** The server announced {@code published}; fetches it unless the replica has {@code loaded} it or newer. */
    void announced(Sampler.WeightsPublished published, long loaded) {
        if (latest == null || published.version() > latest.version()) {
            latest = published;
        }
        fetchIfBehind(loaded);
    }

    /**
     * The fetch of {@code version} ended (the replica now holds {@code loaded}); fetches the newest announced if one
     * came meanwhile. A superseded fetch waits for the announcement of the newer version.
     */
    void finished(long version, long loaded) {
        fetching = false;
        if (latest.version() > version) {
            fetchIfBehind(loaded);
        }
    }

    int attempts() {
        return transfer.settings().attempts();
    }

    /** A transfer that fails (corrupt, short, broken, timed out) is retried after a pause; only verified bytes load. */
    private void fetchIfBehind(long loaded) {
        if (fetching || latest == null || latest.version() <= loaded) {
            return;
        }
        fetching = true;
        Sampler.WeightsPublished target = latest;
        CompletionStage<Fetched> fetched = transfer.withRetries(attempt -> AskPattern.<WeightServer.Command, WeightServer.Offer>ask(
                        target.server(), replyTo -> new WeightServer.Fetch(target.version(), replyTo),
                        transfer.settings().timeout(), context.getSystem().scheduler())
                .thenCompose(this::fetchedFrom)
                .whenComplete((result, failure) -> {
                    if (failure != null) {
                        activity.weightTransferFailed();
                    } else if (result instanceof Received received) {
                        activity.weightsReceived(received.bytes().length());
                    }
                }));
        context.pipeToSelf(fetched, (result, failure) -> new Sampler.WeightsFetched(target.version(), result, failure));
    }

    private CompletionStage<Fetched> fetchedFrom(WeightServer.Offer offer) {
        if (offer instanceof WeightServer.Streamed streamed) {
            return transfer.receive(streamed).thenApply(Received::new);
        }
        return CompletableFuture.completedStage(offer instanceof WeightServer.Shared shared
                ? new Shared(shared.snapshot()) : new Superseded());
    }
}
