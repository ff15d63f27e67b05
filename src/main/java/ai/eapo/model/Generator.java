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
 * Plain generation with continuous batching: up to {@code maxBatch} sequences decode together; a finished
 * sequence leaves and a waiting one joins between steps. Each request has its own seeded random stream,
 * so its output does not depend on what it was batched with.
 */
public final class Generator {

    public record Request(long id, long[] prompt, int maxNewTokens, long seed) {
    }

    /** What one request produced; {@code stopped} is true when it ended on a stop token. */
    public record Completion(long id, long[] tokens, float[] logProbs, float[] entropies, boolean stopped) {
    }

    private final PolicyModel model;
    private final SamplingParams params;
    private final Set<Long> stopIds;
    private final int maxBatch;

    public Generator(PolicyModel model, SamplingParams params, Set<Long> stopIds, int maxBatch) {
        if (maxBatch < 1) {
            throw new IllegalArgumentException("maxBatch must be >= 1, got " + maxBatch);
        }
        this.model = model;
        this.params = params;
        this.stopIds = Set.copyOf(stopIds);
        this.maxBatch = maxBatch;
    }

    /** Generates every request; completions come back in request order. */
    public List<Completion> generate(List<Request> requests) {
        for (Request r : requests) {
            if (r.maxNewTokens() < 1 || r.prompt().length == 0) {
                throw new IllegalArgumentException("request " + r.id() + " needs a non-empty prompt and max new tokens >= 1");
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
    }

    private void record(NDArray logits, List<Long> ids, Map<Long, Progress> active) {
        double[] uniforms = new double[ids.size()];
        for (int i = 0; i < uniforms.length; i++) {
            uniforms[i] = active.get(ids.get(i)).random.nextDouble();
        }
        TokenSampler.Draw draw = TokenSampler.sample(logits, params, uniforms);
        for (int i = 0; i < uniforms.length; i++) {
            active.get(ids.get(i)).add(draw.tokens()[i], draw.logProbs()[i], draw.entropies()[i]);
        }
    }

    /** One request's tokens so far. */
    private static final class Progress {
        final Request request;
        final SplittableRandom random;
        final List<Long> tokens = new ArrayList<>();
        final List<Float> logProbs = new ArrayList<>();
        final List<Float> entropies = new ArrayList<>();

        Progress(Request request) {
            this.request = request;
            this.random = new SplittableRandom(request.seed());
        }

        void add(long token, float logProb, float entropy) {
            tokens.add(token);
            logProbs.add(logProb);
            entropies.add(entropy);
        }

        long lastToken() {
            return tokens.get(tokens.size() - 1);
        }

        boolean finished(Set<Long> stopIds) {
            return tokens.size() >= request.maxNewTokens() || (!tokens.isEmpty() && stopIds.contains(lastToken()));
        }

        Completion completion(Set<Long> stopIds) {
            float[] lp = new float[tokens.size()];
            float[] en = new float[tokens.size()];
            for (int i = 0; i < lp.length; i++) {
                lp[i] = logProbs.get(i);
                en[i] = entropies.get(i);
            }
            return new Completion(request.id(), tokens.stream().mapToLong(Long::longValue).toArray(), lp, en,
                    stopIds.contains(lastToken()));
        }
    }
}
