package ai.eapo.actors;

import ai.eapo.verify.AnswerChecker;
import ai.eapo.verify.Verdict;

import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;

/**
 * Scores one response against its reference answer and replies to whoever asked. Runs as a pool
 * behind a router, one pool per verifier node. A check that throws scores 0 with the reason, so one bad
 * response never stops a run.
 */
public final class Verifier extends AbstractBehavior<Verifier.Command> {

    /** How Samplers find verifier pools across the cluster. */
    public static final ServiceKey<Command> SERVICE_KEY = ServiceKey.create(Command.class, "eapo-verifier");

    public sealed interface Command {
    }

    /** The decoded {@code response} of sequence {@code sequenceId}, to be checked against {@code reference}. */
    public record Check(long sequenceId, String response, String reference, ActorRef<Scored> replyTo)
            implements Command, CborSerializable {
    }

    /** The reward of sequence {@code sequenceId}; {@code failure} is non-null when the check failed (reward 0). */
    public record Scored(long sequenceId, double reward, String failure) implements CborSerializable {
    }

    private final AnswerChecker verifier;

    public static Behavior<Command> create(AnswerChecker verifier) {
        return Behaviors.setup(context -> new Verifier(context, verifier));
    }

    private Verifier(ActorContext<Command> context, AnswerChecker verifier) {
        super(context);
        this.verifier = verifier;
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder().onMessage(Check.class, this::onCheck).build();
    }

    private Behavior<Command> onCheck(Check check) {
        double reward;
        String failure = null;
        try {
            Verdict verdict = verifier.verify(check.response(), check.reference());
            reward = verdict.reward();
        } catch (RuntimeException e) {
            reward = 0;
            failure = e.toString();
            getContext().getLog().warn("verification of sequence {} failed, reward 0: {}", check.sequenceId(), failure);
        }
        check.replyTo().tell(new Scored(check.sequenceId(), reward, failure));
        return this;
    }
}
