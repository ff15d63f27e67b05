package ai.eapo.actors;

import ai.eapo.model.ExperiencePrior;
import ai.eapo.model.SamplingParams;
import ai.eapo.model.TokenizerVocabulary;

import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The frozen prior π_RL. Each {@code Consult} carries every sequence of one sampler's decode step that needs
 * the prior; the prior keeps a KV cache per consulting sequence and catches up on unseen tokens in one
 * prefill (see {@link ai.eapo.model.LocalPrior}); {@code Release} frees a finished sequence's cache.
 * Sequence ids are a sampler's own, so the prior tells samplers apart by their reference: it numbers each
 * (sampler, sequence) pair itself. A repeated consultation (a sampler's retry) is answered again: the prior
 * then re-prefills that sequence, so answering twice is harmless. A sampler that stops (its node died, say)
 * never releases its sequences, so the prior watches each consulting sampler and frees them then.
 */
public final class PriorPolicy extends AbstractBehavior<PriorPolicy.Command> {

    /** How Samplers find the prior across the cluster. */
    public static final ServiceKey<Command> SERVICE_KEY = ServiceKey.create(Command.class, "eapo-prior");

    public sealed interface Command {
        /** The sampler the message is about: consultations of one sampler go to one prior. */
        ActorRef<Sampler.Command> sampler();
    }

    /**
     * {@code sampling}: the sampler's settings, which must be the prior's; {@code vocabulary}: its policy's
     * tokenizer, which must be the prior's (else {@link Sampler.Refused}).
     */
    public record Consult(List<ExperiencePrior.Consultation> consultations, ActorRef<Sampler.Command> sampler,
                          SamplingParams sampling, TokenizerVocabulary vocabulary) implements Command, CborSerializable {
    }

    public record Release(List<Long> sequenceIds, ActorRef<Sampler.Command> sampler) implements Command, CborSerializable {
    }

    private record SequenceOf(ActorRef<Sampler.Command> sampler, long sequenceId) {
    }

    private record SamplerStopped(ActorRef<Sampler.Command> sampler) implements Command {
    }

    private static final String BUSY_KIND = "prior";

    private final ExperiencePrior prior;
    /** How the prior draws its tokens: the samplers consulting it must sample alike. */
    private final SamplingParams sampling;
    /** The prior's tokenizer: the consulting samplers' policies must share it. */
    private final TokenizerVocabulary vocabulary;
    private final PipelineActivity activity;
    private final Map<SequenceOf, Long> localIds = new HashMap<>();
    private final Set<ActorRef<Sampler.Command>> watched = new HashSet<>();
    private long nextLocalId;

    /**
     * A prior drawing with {@code sampling} over the token ids of {@code vocabulary}, registered with the
     * receptionist, for samplers on other nodes.
     */
    public static Behavior<Command> create(ExperiencePrior prior, SamplingParams sampling, TokenizerVocabulary vocabulary,
                                           PipelineActivity activity) {
        return Behaviors.setup(context -> {
            context.getSystem().receptionist().tell(Receptionist.register(SERVICE_KEY, context.getSelf()));
            return new PriorPolicy(context, prior, sampling, vocabulary, activity);
        });
    }

    private PriorPolicy(ActorContext<Command> context, ExperiencePrior prior, SamplingParams sampling,
                        TokenizerVocabulary vocabulary, PipelineActivity activity) {
        super(context);
        this.prior = prior;
        this.sampling = sampling;
        this.vocabulary = vocabulary;
        this.activity = activity;
        activity.register(BUSY_KIND);
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Consult.class, this::onConsult)
                .onMessage(Release.class, this::onRelease)
                .onMessage(SamplerStopped.class, this::onSamplerStopped)
                .build();
    }

    private Behavior<Command> onConsult(Consult consult) {
        String mismatch = sampling.mismatch("the prior", consult.sampling(), "sampler " + consult.sampler().path());
        if (mismatch == null) {
            mismatch = consult.vocabulary().priorMismatch(vocabulary);
        }
        if (mismatch != null) {
            getContext().getLog().error("refused {}: {}", consult.sampler().path(), mismatch);
            consult.sampler().tell(new Sampler.Refused(mismatch));
            return this;
        }
        if (watched.add(consult.sampler())) {
            getContext().watchWith(consult.sampler(), new SamplerStopped(consult.sampler()));
        }
        List<ExperiencePrior.Consultation> local = consult.consultations().stream()
                .map(c -> new ExperiencePrior.Consultation(localIds.computeIfAbsent(
                        new SequenceOf(consult.sampler(), c.sequenceId()), k -> nextLocalId++), c.tokens(), c.uniform()))
                .toList();
        List<ExperiencePrior.Draw> draws = activity.measure(BUSY_KIND, () -> prior.consult(local));
        List<Long> ids = consult.consultations().stream().map(ExperiencePrior.Consultation::sequenceId).toList();
        List<Integer> positions = consult.consultations().stream().map(c -> c.tokens().length).toList();
        consult.sampler().tell(new Sampler.PriorAnswered(ids, positions, draws));
        return this;
    }

    private Behavior<Command> onRelease(Release release) {
        for (long id : release.sequenceIds()) {
            Long local = localIds.remove(new SequenceOf(release.sampler(), id));
            if (local != null) {
                prior.release(local);
            }
        }
        return this;
    }

    private Behavior<Command> onSamplerStopped(SamplerStopped stopped) {
        watched.remove(stopped.sampler());
        Iterator<Map.Entry<SequenceOf, Long>> entries = localIds.entrySet().iterator();
        while (entries.hasNext()) {
            Map.Entry<SequenceOf, Long> entry = entries.next();
            if (entry.getKey().sampler().equals(stopped.sampler())) {
                prior.release(entry.getValue());
                entries.remove();
            }
        }
        return this;
    }
}
