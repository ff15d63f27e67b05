package ai.eapo.actors;

import ai.eapo.model.ExperiencePrior;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;

import java.util.List;

/**
 * The frozen prior π_RL. Each {@code Consult} carries every sequence of one sampler's decode step that needs
 * the prior; the prior keeps a KV cache per consulting sequence and catches up on unseen tokens in one
 * prefill (see {@link ai.eapo.model.LocalPrior}); {@code Release} frees a finished sequence's cache.
 */
public final class PriorPolicy extends AbstractBehavior<PriorPolicy.Command> {

    public sealed interface Command {
    }

    public record Consult(List<ExperiencePrior.Consultation> consultations, ActorRef<Sampler.Command> replyTo)
            implements Command, CborSerializable {
    }

    public record Release(List<Long> sequenceIds) implements Command, CborSerializable {
    }

    private static final String BUSY_KIND = "prior";

    private final ExperiencePrior prior;
    private final BusyTime busy;

    public static Behavior<Command> create(ExperiencePrior prior, BusyTime busy) {
        return Behaviors.setup(context -> new PriorPolicy(context, prior, busy));
    }

    private PriorPolicy(ActorContext<Command> context, ExperiencePrior prior, BusyTime busy) {
        super(context);
        this.prior = prior;
        this.busy = busy;
        busy.register(BUSY_KIND);
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Consult.class, this::onConsult)
                .onMessage(Release.class, this::onRelease)
                .build();
    }

    private Behavior<Command> onConsult(Consult consult) {
        List<ExperiencePrior.Draw> draws = busy.measure(BUSY_KIND, () -> prior.consult(consult.consultations()));
        List<Long> ids = consult.consultations().stream().map(ExperiencePrior.Consultation::sequenceId).toList();
        consult.replyTo().tell(new Sampler.PriorAnswered(ids, draws));
        return this;
    }

    private Behavior<Command> onRelease(Release release) {
        release.sequenceIds().forEach(prior::release);
        return this;
    }
}
