package ai.eapo.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Generation with continuous batching: up to {@code maxBatch} sequences decode together; a finished
 * sequence leaves and a waiting one joins between steps. Each request has its own seeded random stream,
 * so its output does not depend on what it was batched with.
 *
 * <p>Experience-augmented requests (EAPO, spec section 1): at every position whose policy entropy is
 * critical, the token is drawn from the {@link ExperiencePrior} instead, and marked resampled. Every token
 * records its behaviour log-prob (under the distribution it was drawn from) and its log-prob under the
 * policy that generated the sequence.
 */
public final class Generator {

    public record Request(long id, long[] prompt, int maxNewTokens, long seed, boolean experience) {
        public Request(long id, long[] prompt, int maxNewTokens, long seed) {
            this(id, prompt, maxNewTokens, seed, false);
        }
    }

    /**
     * What one request produced. {@code logProbs}: behaviour log-probs (the distribution each token was drawn
     * from); {@code policyLogProbs}: log-probs under the generating policy (equal where not resampled);
     * {@code stopped}: it ended on a stop token.
     */
    public record Completion(long id, long[] tokens, float[] logProbs, float[] policyLogProbs, float[] entropies,
                             boolean[] resampled, boolean stopped, boolean experience) {
        public int resampledCount() {
            int n = 0;
            for (boolean r : resampled) {
                n += r ? 1 : 0;
            }
            return n;
        }
    }

    /** Where experience-augmented sequences get their critical tokens, and when a position is critical. */
    public record Experience(ExperiencePrior prior, java.util.function.DoublePredicate isCritical) {
    }

    private final PolicyModel model;
    private final SamplingParams params;
    private final Set<Long> stopIds;
    private final int maxBatch;
    private final Experience experience;

    public Generator(PolicyModel model, SamplingParams params, Set<Long> stopIds, int maxBatch) {
        this(model, params, stopIds, maxBatch, null);
    }

    /** {@code experience} may be null when no request is experience-augmented. */
    public Generator(PolicyModel model, SamplingParams params, Set<Long> stopIds, int maxBatch, Experience experience) {
        if (maxBatch < 1) {
            throw new IllegalArgumentException("maxBatch must be >= 1, got " + maxBatch);
        }
        this.model = model;
        this.params = params;
        this.stopIds = Set.copyOf(stopIds);
        this.maxBatch = maxBatch;
        this.experience = experience;
    }

    /** Generates every request; completions come back in request order. */
    public List<Completion> generate(List<Request> requests) {
        for (Request r : requests) {
            if (r.maxNewTokens() < 1 || r.prompt().length == 0) {
                throw new IllegalArgumentException("request " + r.id() + " needs a non-empty prompt and max new tokens >= 1");
            }
            if (r.experience() && experience == null) {
                throw new IllegalArgumentException("request " + r.id() + " is experience-augmented but no prior is given");
            }
        }
        Deque<Request> waiting = new ArrayDeque<>(requests);
        Map<Long, Progress> active = new LinkedHashMap<>();
        Map<Long, Completion> done = new HashMap<>();
        try (DecodeBatch batch = new DecodeBatch(model)) {
            while (!waiting.isEmpty() || !active.isEmpty()) {
                try (NDManager step = model.manager().newSubManager()) {
                    if (batch.size() > 0) {
                        List<Long> rows = batch.sequenceIds();
                        long[] last = rows.stream().mapToLong(id -> active.get(id).lastToken()).toArray();
                        record(batch.step(last, step), rows, active);
                        retireFinished(batch, active, done);
                    }
                    List<Long> joining = new ArrayList<>();
                    List<long[]> prompts = new ArrayList<>();
                    while (!waiting.isEmpty() && batch.size() + joining.size() < maxBatch) {
                        Request r = waiting.poll();
                        active.put(r.id(), new Progress(r));
                        joining.add(r.id());
                        prompts.add(r.prompt());
                    }
                    if (!joining.isEmpty()) {
                        record(batch.join(joining, prompts, step), joining, active);
                        retireFinished(batch, active, done);
                    }
                }
            }
        }
        return requests.stream().map(r -> done.get(r.id())).toList();
    }

    private void retireFinished(DecodeBatch batch, Map<Long, Progress> active, Map<Long, Completion> done) {
        List<Long> finished = new ArrayList<>();
        for (Progress p : active.values()) {
            if (p.finished(stopIds)) {
                finished.add(p.request.id());
                done.put(p.request.id(), p.completion(stopIds));
            }
        }
        finished.forEach(active::remove);
        batch.leave(finished);
        if (experience != null) {
            finished.forEach(experience.prior()::release);
        }
    }

    private void record(NDArray logits, List<Long> ids, Map<Long, Progress> active) {
        double[] uniforms = new double[ids.size()];
        for (int i = 0; i < uniforms.length; i++) {
            uniforms[i] = active.get(ids.get(i)).random.nextDouble();
        }
        TokenSampler.Draw draw = TokenSampler.sample(logits, params, uniforms);
        long[] tokens = draw.tokens().clone();
        float[] behaviour = draw.logProbs().clone();
        float[] policy = draw.logProbs().clone();
        boolean[] resampled = new boolean[ids.size()];
        if (experience != null) {
            List<ExperiencePrior.Consultation> asks = new ArrayList<>();
            List<Integer> askRows = new ArrayList<>();
            for (int i = 0; i < ids.size(); i++) {
                Progress p = active.get(ids.get(i));
                if (p.request.experience() && experience.isCritical().test(draw.entropies()[i])) {
                    asks.add(new ExperiencePrior.Consultation(p.request.id(), p.history(), p.random.nextDouble()));
                    askRows.add(i);
                }
            }
            if (!asks.isEmpty()) {
                List<ExperiencePrior.Draw> answers = experience.prior().consult(asks);
                long[] rows = askRows.stream().mapToLong(Integer::longValue).toArray();
                long[] priorTokens = answers.stream().mapToLong(ExperiencePrior.Draw::token).toArray();
                float[] policyOfPrior = TokenSampler.logProbsOf(logits, params, rows, priorTokens);
                for (int k = 0; k < rows.length; k++) {
                    int i = askRows.get(k);
                    tokens[i] = priorTokens[k];
                    behaviour[i] = answers.get(k).logProb();
                    policy[i] = policyOfPrior[k];
                    resampled[i] = true;
                }
            }
        }
        for (int i = 0; i < ids.size(); i++) {
            active.get(ids.get(i)).add(tokens[i], behaviour[i], policy[i], draw.entropies()[i], resampled[i]);
        }
    }

    /** One request's tokens so far. */
    private static final class Progress {
        final Request request;
        final SplittableRandom random;
        final List<Long> tokens = new ArrayList<>();
        final List<Float> logProbs = new ArrayList<>();
        final List<Float> policyLogProbs = new ArrayList<>();
        final List<Float> entropies = new ArrayList<>();
        final List<Boolean> resampled = new ArrayList<>();

        Progress(Request request) {
            this.request = request;
            this.random = new SplittableRandom(request.seed());
        }

        void add(long token, float logProb, float policyLogProb, float entropy, boolean fromPrior) {
            tokens.add(token);
            logProbs.add(logProb);
            policyLogProbs.add(policyLogProb);
            entropies.add(entropy);
            resampled.add(fromPrior);
        }

        long lastToken() {
            return tokens.get(tokens.size() - 1);
        }

        /** Prompt followed by the tokens generated so far. */
        long[] history() {
            long[] h = java.util.Arrays.copyOf(request.prompt(), request.prompt().length + tokens.size());
            for (int i = 0; i < tokens.size(); i++) {
                h[request.prompt().length + i] = tokens.get(i);
            }
            return h;
        }

        boolean finished(Set<Long> stopIds) {
            return tokens.size() >= request.maxNewTokens() || (!tokens.isEmpty() && stopIds.contains(lastToken()));
        }

        Completion completion(Set<Long> stopIds) {
            int n = tokens.size();
            float[] lp = new float[n];
            float[] plp = new float[n];
            float[] en = new float[n];
            boolean[] rs = new boolean[n];
            for (int i = 0; i < n; i++) {
                lp[i] = logProbs.get(i);
                plp[i] = policyLogProbs.get(i);
                en[i] = entropies.get(i);
                rs[i] = resampled.get(i);
            }
            return new Completion(request.id(), tokens.stream().mapToLong(Long::longValue).toArray(), lp, plp, en, rs,
                    stopIds.contains(lastToken()), request.experience());
        }
    }
}
