package ai.eapo.actors;

import ai.eapo.model.WeightBytes;

import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.pattern.Patterns;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Sink;
import com.typesafe.config.Config;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import java.util.function.IntFunction;

/**
 * The receiving end of a streamed weight version ({@link WeightServer.Streamed}), on a sampler's node: pulls
 * the chunks (StreamRefs signal demand, so the server sends no faster than this node copies), writes them
 * into preallocated segments while checksumming, and completes with the {@link WeightBytes} only when the
 * length and the checksum match the announcement. Anything else fails the transfer with {@link Failed}, whose
 * reason says what happened; the partial bytes are dropped, so nothing unverified can be loaded.
 *
 * <p>The stream runs on the system materializer: its receiving actor then lives under
 * {@code /system/Materializers}, which {@code conf/application.conf} routes through Artery's large-message lane
 * (chunks larger than an ordinary frame would be dropped elsewhere).
 *
 * <p>A {@code SourceRef} can be run once, so a retry is a new {@link WeightServer.Fetch}. {@link #withRetries}
 * repeats an attempt {@code eapo.weights.attempts} times, {@code retry-backoff} apart:
 * <pre>{@code
 * transfer.withRetries(attempt -> AskPattern.<WeightServer.Command, WeightServer.Offer>ask(server,
 *         replyTo -> new WeightServer.Fetch(version, replyTo), askTimeout, system.scheduler())
 *     .thenCompose(offer -> offer instanceof WeightServer.Streamed streamed
 *         ? transfer.receive(streamed).thenApply(Optional::of)
 *         : CompletableFuture.completedStage(Optional.empty())))   // Superseded: wait for the next version
 * }</pre>
 */
public final class WeightTransfer {

    /** {@code eapo.weights}: how long one transfer may take, how often it is tried, and the pause between tries. */
    public record Settings(Duration timeout, int attempts, Duration retryBackoff) {

        public Settings {
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("eapo.weights.transfer-timeout must be positive, not " + timeout);
            }
            if (attempts < 1) {
                throw new IllegalArgumentException("eapo.weights.attempts must be at least 1, not " + attempts);
            }
            if (retryBackoff.isNegative()) {
                throw new IllegalArgumentException("eapo.weights.retry-backoff must not be negative, not " + retryBackoff);
            }
        }

        public static Settings fromConfig(Config config) {
            Config weights = config.getConfig("eapo.weights");
            return new Settings(weights.getDuration("transfer-timeout"), weights.getInt("attempts"),
                    weights.getDuration("retry-backoff"));
        }
    }

    /** A transfer that delivered nothing loadable. */
    public static final class Failed extends RuntimeException {

        public enum Reason {
            /** The bytes do not match the announced checksum, or there are more of them than the layout holds. */
            CORRUPT,
            /** The stream completed before the layout's bytes had all arrived. */
            SHORT,
            /** The stream did not complete within {@code eapo.weights.transfer-timeout}. */
            TIMED_OUT,
            /** The stream failed: the server's side failed or stopped, or its node became unreachable. */
            BROKEN
        }

        private final long version;
        private final Reason reason;

        public Failed(long version, Reason reason, String message, Throwable cause) {
            super("transfer of weight version " + version + " failed (" + reason + "): " + message, cause);
            this.version = version;
            this.reason = reason;
        }

        public long version() {
            return version;
        }

        public Reason reason() {
            return reason;
        }
    }

    private final ActorSystem<?> system;
    private final Materializer materializer;
    private final Settings settings;

    /** Transfers with the system's {@code eapo.weights} settings. */
    public WeightTransfer(ActorSystem<?> system) {
        this(system, Settings.fromConfig(system.settings().config()));
    }

    public WeightTransfer(ActorSystem<?> system, Settings settings) {
        this.system = system;
        this.materializer = Materializer.matFromSystem(system); // see the class comment: the large-message lane
        this.settings = settings;
    }

    public Settings settings() {
        return settings;
    }

    /**
     * Runs {@code offer}'s stream into the version's segments; completes with the verified version, or fails with
     * {@link Failed} (directly, not wrapped, for this stage's own handlers).
     */
    public CompletionStage<WeightBytes> receive(WeightServer.Streamed offer) {
        long version = offer.version();
        WeightBytes.Receiver receiver;
        try {
            receiver = WeightBytes.receive(version, offer.layout(), offer.checksum());
        } catch (IllegalArgumentException e) {
            // An announcement this node cannot take at all (unknown checksum algorithm, absurd size): not retryable.
            return CompletableFuture.failedFuture(e);
        }
        CompletableFuture<WeightBytes> result = new CompletableFuture<>();
        offer.chunks().getSource()
                .completionTimeout(settings.timeout())
                .runWith(Sink.foreach(chunk -> receiver.write(chunk.asByteBuffer())), materializer)
                .whenComplete((done, error) -> {
                    if (error != null) {
                        result.completeExceptionally(failure(version, receiver, unwrap(error)));
                        return;
                    }
                    try {
                        result.complete(receiver.finish());
                    } catch (WeightBytes.Rejected rejected) {
                        result.completeExceptionally(failure(version, receiver, rejected));
                    }
                });
        return result;
    }

    /**
     * Runs {@code attempt} (given the attempt number, from 1) until it succeeds or {@code attempts} have failed,
     * waiting {@code retry-backoff} after each failure; completes like the first success, or fails with the
     * last failure (unwrapped).
     */
    public <T> CompletionStage<T> withRetries(IntFunction<CompletionStage<T>> attempt) {
        return run(attempt, 1);
    }

    private <T> CompletionStage<T> run(IntFunction<CompletionStage<T>> attempt, int number) {
        CompletionStage<T> stage;
        try {
            stage = attempt.apply(number);
        } catch (RuntimeException e) {
            stage = CompletableFuture.failedFuture(e);
        }
        CompletableFuture<T> result = new CompletableFuture<>();
        stage.whenComplete((value, error) -> {
            if (error == null) {
                result.complete(value);
            } else if (number >= settings.attempts()) {
                result.completeExceptionally(unwrap(error));
            } else {
                system.log().warn("weight transfer attempt {} of {} failed, retrying in {}: {}", number,
                        settings.attempts(), settings.retryBackoff(), unwrap(error).getMessage());
                Patterns.after(settings.retryBackoff(), system.classicSystem().scheduler(), system.executionContext(),
                        () -> run(attempt, number + 1)).whenComplete((v, e) -> {
                            if (e == null) {
                                result.complete(v);
                            } else {
                                result.completeExceptionally(unwrap(e));
                            }
                        });
            }
        });
        return result;
    }

    private Failed failure(long version, WeightBytes.Receiver receiver, Throwable error) {
        String progress = receiver.received() + " of " + receiver.expectedLength() + " bytes received";
        if (error instanceof WeightBytes.Rejected rejected) {
            Failed.Reason reason = rejected.reason() == WeightBytes.Rejected.Reason.SHORT ? Failed.Reason.SHORT
                    : Failed.Reason.CORRUPT;
            return new Failed(version, reason, rejected.getMessage(), rejected);
        }
        if (error instanceof TimeoutException) {
            return new Failed(version, Failed.Reason.TIMED_OUT, "not complete within " + settings.timeout() + ", "
                    + progress, error);
        }
        return new Failed(version, Failed.Reason.BROKEN, error + ", " + progress, error);
    }

    private static Throwable unwrap(Throwable error) {
        while ((error instanceof CompletionException || error instanceof ExecutionException) && error.getCause() != null) {
            error = error.getCause();
        }
        return error;
    }
}
