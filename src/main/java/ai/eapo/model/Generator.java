package ai.eapo.model;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.DoublePredicate;

/**
 * Generates a list of requests to the end with a {@link ContinuousDecoder} (continuous batching, one seeded
 * random stream per request). Experience requests (EAPO, spec section 1) take the token at
 * every critical position from the {@link ExperiencePrior}, marked resampled.
 */
public final class Generator {

    public record Request(long id, long[] prompt, int maxNewTokens, long seed, boolean experience) {
        public Request(long id, long[] prompt, int maxNewTokens, long seed) {
            this(id, prompt, maxNewTokens, seed, false);
        }
    }

    /**
     * What one request produced. {@code logProbs}: behaviour log-probs (of the distribution each token was
     * actually drawn from: after top-p / top-k, renormalised); {@code policyLogProbs}: log-probs under the
     * generating policy's full temperature-scaled distribution; {@code keptMass}: the mass top-p / top-k kept of
     * the distribution each token was drawn from (1 when nothing was cut); {@code weightVersions}: the policy's
     * weight version when each token was decoded (never decreasing along a sequence); {@code stopped}: it ended on
     * a stop token.
     */
    public record Completion(long id, long[] tokens, float[] logProbs, float[] policyLogProbs, float[] keptMass,
                             float[] entropies, boolean[] resampled, long[] weightVersions, boolean stopped,
                             boolean experience) {
        public int resampledCount() {
            int n = 0;
            for (boolean r : resampled) {
                n += r ? 1 : 0;
            }
            return n;
        }
    }

    /** Where experience sequences get their critical tokens, and when a position is critical. */
    public record Experience(ExperiencePrior prior, DoublePredicate isCritical) {
    }

    private final PolicyModel model;
    private final SamplingParams params;
    private final Set<Long> stopIds;
    private final int maxBatch;
    private final Experience experience;

    public Generator(PolicyModel model, SamplingParams params, Set<Long> stopIds, int maxBatch) {
        this(model, params, stopIds, maxBatch, null);
    }

    /** {@code experience} may be null when no request is an experience request. */
    public Generator(PolicyModel model, SamplingParams params, Set<Long> stopIds, int maxBatch, Experience experience) {
        this.model = model;
        this.params = params;
        this.stopIds = Set.copyOf(stopIds);
        this.maxBatch = maxBatch;
        this.experience = experience;
    }

    /**
     * Generates every request; completions come back in request order. The prior answers each step's
     * parked sequences at once, so this is the synchronous form of what the Sampler actor does. The tokens
     * record weight version 0.
     */
    public List<Completion> generate(List<Request> requests) {
        return generate(requests, 0);
    }

    /** {@link #generate(List)} with the model's weights being version {@code weightVersion}, which the tokens record. */
    public List<Completion> generate(List<Request> requests, long weightVersion) {
        for (Request r : requests) {
            if (r.experience() && experience == null) {
                throw new IllegalArgumentException("request " + r.id() + " is an experience request but no prior is given");
            }
        }
        Map<Long, Completion> done = new HashMap<>();
        DoublePredicate isCritical = experience == null ? h -> false : experience.isCritical();
        try (ContinuousDecoder decoder = new ContinuousDecoder(model, params, stopIds, maxBatch,
                (id, entropy) -> isCritical.test(entropy))) {
            decoder.setWeightVersion(weightVersion);
            requests.forEach(decoder::submit);
            while (!decoder.idle()) {
                ContinuousDecoder.StepResult step = decoder.step();
                finish(step.finished(), done);
                if (!step.consultations().isEmpty()) {
                    List<ExperiencePrior.Draw> answers = experience.prior().consult(step.consultations());
                    List<Long> ids = step.consultations().stream().map(ExperiencePrior.Consultation::sequenceId).toList();
                    finish(decoder.resume(ids, answers), done);
                }
            }
        }
        return requests.stream().map(r -> done.get(r.id())).toList();
    }

    private void finish(List<Completion> finished, Map<Long, Completion> done) {
        for (Completion c : finished) {
            done.put(c.id(), c);
            if (experience != null) {
                experience.prior().release(c.id());
            }
        }
    }
}
