package ai.eapo.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.eapo.model.Generator.Completion;
import ai.eapo.model.Generator.Request;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * The decoding engine, one step at a time, behind both {@link Generator} (which runs it to the end) and the
 * Sampler actor (which interleaves its steps with messages). Continuous batching: up to {@code maxBatch}
 * sequences decode together; finished sequences leave and waiting ones join between steps. Each request
 * has its own seeded random stream, so its output does not depend on what it was batched with.
 *
 * <p>Experience requests (EAPO, spec section 1): a position whose policy entropy is critical
 * takes its token from the prior. Such a sequence is <em>parked</em> and its question returned from
 * {@link #step}; the other rows keep decoding, and the parked one continues once {@link #resume} gives it the
 * prior's token. Every token records its behaviour log-prob (under the distribution it was drawn from, after
 * top-p / top-k), its log-prob under the policy's full distribution, the mass the truncation kept, the policy's
 * entropy there, whether it was resampled, and the weight version that decoded it.
 */
public final class ContinuousDecoder implements AutoCloseable {

    /** Where an experience response consults the prior: at sequence {@code sequenceId}'s positions of this entropy. */
    @FunctionalInterface
    public interface CriticalPositions {
        /** No position is critical: a decoder of plain requests (no experience request). */
        CriticalPositions NONE = (sequenceId, entropy) -> false;

        boolean isCritical(long sequenceId, double entropy);
    }

    /** What one step produced: questions for the sequences it parked, and the sequences that finished. */
    public record StepResult(List<ExperiencePrior.Consultation> consultations, List<Completion> finished) {
    }

    private final PolicyModel model;
    private final SamplingParams params;
    private final Set<Long> stopIds;
    private final int maxBatch;
    private final CriticalPositions critical;
    /** Version of the weights decoding now; recorded with every token. */
    private long weightVersion;
    private final DecodeBatch batch;
    /** Holds the policy's logits row of each parked sequence until its prior token arrives. */
    private final NDManager parkedManager;
    private final Deque<Request> waiting = new ArrayDeque<>();
    private final Map<Long, Progress> active = new LinkedHashMap<>();
    private final Map<Long, NDArray> parked = new HashMap<>();

    /** {@code critical} decides, from the policy's entropy, where experience requests consult the prior. */
    public ContinuousDecoder(PolicyModel model, SamplingParams params, Set<Long> stopIds, int maxBatch,
                             CriticalPositions critical) {
        if (maxBatch < 1) {
            throw new IllegalArgumentException("maxBatch must be >= 1, got " + maxBatch);
        }
        this.model = model;
        this.params = params;
        this.stopIds = Set.copyOf(stopIds);
        this.maxBatch = maxBatch;
        this.critical = critical;
        this.batch = new DecodeBatch(model);
        this.parkedManager = model.manager().newSubManager();
    }

    /** Queues a request; it joins the batch at a coming step. */
    public void submit(Request r) {
        if (r.maxNewTokens() < 1 || r.prompt().length == 0) {
            throw new IllegalArgumentException("request " + r.id() + " needs a non-empty prompt and max new tokens >= 1");
        }
        if (active.containsKey(r.id()) || waiting.stream().anyMatch(w -> w.id() == r.id())) {
            throw new IllegalArgumentException("request " + r.id() + " is already being decoded");
        }
        waiting.add(r);
    }

    /** The model's weights were replaced by version {@code version}: tokens from now on record it. */
    public void setWeightVersion(long version) {
        this.weightVersion = version;
    }

    /** Nothing waiting, decoding or parked. */
    public boolean idle() {
        return waiting.isEmpty() && active.isEmpty();
    }

    /** A step would do work: some row can advance or a waiting request can join. */
    public boolean canStep() {
        return active.size() > parked.size() || (!waiting.isEmpty() && batch.size() < maxBatch);
    }

    /** Requests submitted and not yet finished (waiting, decoding or parked). */
    public int inFlight() {
        return waiting.size() + active.size();
    }

    /** Sequences waiting for the prior's token. */
    public int parkedCount() {
        return parked.size();
    }

    /** Advances every row that is not parked by one token, then lets waiting requests join. */
    public StepResult step() {
        List<ExperiencePrior.Consultation> asks = new ArrayList<>();
        List<Completion> finished = new ArrayList<>();
        try (NDManager step = model.manager().newSubManager()) {
            List<Long> rows = batch.sequenceIds();
            boolean[] advancing = new boolean[rows.size()];
            long[] last = new long[rows.size()];
            List<Long> advancingIds = new ArrayList<>();
            List<Long> advancingRows = new ArrayList<>();
            for (int i = 0; i < rows.size(); i++) {
                advancing[i] = !parked.containsKey(rows.get(i));
                if (advancing[i]) {
                    last[i] = active.get(rows.get(i)).lastToken();
                    advancingIds.add(rows.get(i));
                    advancingRows.add((long) i);
                }
            }
            if (!advancingIds.isEmpty()) {
                NDArray logits = batch.step(last, advancing, step);
                if (advancingIds.size() < rows.size()) {
                    logits = logits.get(PolicyModel.rows(step.create(advancingRows.stream().mapToLong(Long::longValue).toArray())));
                }
                sampleNext(logits, advancingIds, asks);
                retireFinished(finished);
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
                sampleNext(batch.join(joining, prompts, step), joining, asks);
                retireFinished(finished);
            }
        }
        return new StepResult(asks, finished);
    }

    /**
     * Gives parked sequences the prior's tokens ({@code draws[i]} for {@code sequenceIds[i]}); returns the
     * sequences this finished. Ids that are not parked (say, answers for a request that has since been
     * dropped) are an error.
     */
    public List<Completion> resume(List<Long> sequenceIds, List<ExperiencePrior.Draw> draws) {
        if (sequenceIds.size() != draws.size()) {
            throw new IllegalArgumentException(sequenceIds.size() + " sequences but " + draws.size() + " prior draws");
        }
        if (sequenceIds.isEmpty()) {
            return List.of();
        }
        for (Long id : sequenceIds) {
            if (!parked.containsKey(id)) {
                throw new IllegalArgumentException("sequence " + id + " is not waiting for a prior token");
            }
        }
        try (NDManager work = model.manager().newSubManager()) {
            NDList rows = new NDList();
            sequenceIds.forEach(id -> rows.add(parked.get(id)));
            NDArray logits = NDArrays.stack(rows);
            logits.attach(work);
            long[] index = new long[sequenceIds.size()];
            Arrays.setAll(index, i -> i);
            long[] tokens = draws.stream().mapToLong(ExperiencePrior.Draw::token).toArray();
            float[] policyLogProbs = TokenSampler.logProbsOf(logits, params, index, tokens);
            for (int k = 0; k < index.length; k++) {
                Progress p = active.get(sequenceIds.get(k));
                ExperiencePrior.Draw d = draws.get(k);
                p.add(tokens[k], d.logProb(), policyLogProbs[k], d.keptMass(), p.pendingEntropy, true, p.pendingVersion);
                parked.remove(sequenceIds.get(k)).close();
            }
        }
        List<Completion> finished = new ArrayList<>();
        retireFinished(finished);
        return finished;
    }

    private void retireFinished(List<Completion> into) {
        List<Long> finished = new ArrayList<>();
        for (Progress p : active.values()) {
            if (!parked.containsKey(p.request.id()) && p.finished(stopIds)) {
                finished.add(p.request.id());
                into.add(p.completion(stopIds));
            }
        }
        finished.forEach(active::remove);
        batch.leave(finished);
    }

    /** Samples each row's token from the policy, or parks the row when its position is critical. */
    private void sampleNext(NDArray logits, List<Long> ids, List<ExperiencePrior.Consultation> asks) {
        double[] uniforms = new double[ids.size()];
        for (int i = 0; i < uniforms.length; i++) {
            uniforms[i] = active.get(ids.get(i)).random.nextDouble();
        }
        TokenSampler.Draw draw = TokenSampler.sample(logits, params, uniforms);
        for (int i = 0; i < ids.size(); i++) {
            Progress p = active.get(ids.get(i));
            float entropy = draw.entropies()[i];
            if (p.request.experience() && critical.isCritical(p.request.id(), entropy)) {
                NDArray row = logits.get(i).duplicate();
                row.attach(parkedManager);
                parked.put(p.request.id(), row);
                p.pendingEntropy = entropy;
                p.pendingVersion = weightVersion;
                asks.add(new ExperiencePrior.Consultation(p.request.id(), p.history(), p.random.nextDouble()));
            } else {
                p.add(draw.tokens()[i], draw.sampledLogProbs()[i], draw.logProbs()[i], draw.keptMass()[i], entropy, false,
                        weightVersion);
            }
        }
    }

    @Override
    public void close() {
        batch.close();
        parkedManager.close();
    }

    /** One request's tokens so far. */
    private static final class Progress {
        final Request request;
        final SplittableRandom random;
        final List<Long> tokens = new ArrayList<>();
        final List<Float> logProbs = new ArrayList<>();
        final List<Float> policyLogProbs = new ArrayList<>();
        final List<Float> keptMass = new ArrayList<>();
        final List<Float> entropies = new ArrayList<>();
        final List<Boolean> resampled = new ArrayList<>();
        final List<Long> versions = new ArrayList<>();
        /** The policy's entropy and weight version at the position a parked sequence waits on. */
        float pendingEntropy;
        long pendingVersion;

        Progress(Request request) {
            this.request = request;
            this.random = new SplittableRandom(request.seed());
        }

        void add(long token, float logProb, float policyLogProb, float kept, float entropy, boolean resampled,
                 long version) {
            tokens.add(token);
            versions.add(version);
            logProbs.add(logProb);
            policyLogProbs.add(policyLogProb);
            keptMass.add(kept);
            entropies.add(entropy);
            this.resampled.add(resampled);
        }

        long lastToken() {
            return tokens.get(tokens.size() - 1);
        }

        /** Prompt followed by the tokens generated so far. */
        long[] history() {
            long[] h = Arrays.copyOf(request.prompt(), request.prompt().length + tokens.size());
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
            float[] kept = new float[n];
            float[] en = new float[n];
            boolean[] rs = new boolean[n];
            for (int i = 0; i < n; i++) {
                lp[i] = logProbs.get(i);
                plp[i] = policyLogProbs.get(i);
                kept[i] = keptMass.get(i);
                en[i] = entropies.get(i);
                rs[i] = resampled.get(i);
            }
            return new Completion(request.id(), tokens.stream().mapToLong(Long::longValue).toArray(), lp, plp, kept, en, rs,
                    versions.stream().mapToLong(Long::longValue).toArray(), stopIds.contains(lastToken()),
                    request.experience());
        }
    }
}
