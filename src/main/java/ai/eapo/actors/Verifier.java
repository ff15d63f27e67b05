package ai.eapo.actors;

import ai.eapo.model.Generator;
import ai.eapo.verify.MathVerifier;
import ai.eapo.verify.Verdict;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;

/**
 * Scores one response against its reference answer and passes it on to the Grouper. Runs as a pool behind
 * a router. A check that throws scores 0 with the reason, so one bad response never stops a run.
 */
public final class Verifier extends AbstractBehavior<Verifier.Command> {

    public sealed interface Command {
    }

    /** Response {@code slot} of {@code task}: its tokens ({@code completion}) and decoded {@code text}. */
    public record Check(GroupTask task, int slot, long[] prompt, Generator.Completion completion, String text,
                        ActorRef<Grouper.Command> replyTo) implements Command, CborSerializable {
    }

    private final MathVerifier verifier;

    public static Behavior<Command> create(MathVerifier verifier) {
        return Behaviors.setup(context -> new Verifier(context, verifier));
    }

    private Verifier(ActorContext<Command> context, MathVerifier verifier) {
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
            Verdict verdict = verifier.verify(check.text(), check.task().problem().answer());
            reward = verdict.reward();
        } catch (RuntimeException e) {
            reward = 0;
            failure = e.toString();
            getContext().getLog().warn("verification of step {} question {} slot {} failed, reward 0: {}",
                    check.task().step(), check.task().question(), check.slot(), failure);
        }
        check.replyTo().tell(new Grouper.Verified(check.task(), check.slot(), check.prompt(), check.completion(),
                reward, failure));
        return this;
    }
}
