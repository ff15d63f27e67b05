package ai.eapo.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A prior model in this JVM with a KV cache per consulting sequence. A sequence's history only grows, so a
 * cached sequence consulting again is fed just the tokens it generated since its cache was last fed (one
 * token, or many when the policy went on alone between two critical positions): every cached sequence that
 * consults catches up in one batched {@link DecodeBatch#extend}, and the prior processes each response about
 * once, not once per consultation. Only sequences it does not hold (new, evicted, or asking with a history no
 * longer than their cache, a retry after a restart) are prefilled.
 *
 * <p>Cached answers are exact, but their last bits depend on what else shared the batch and on how a sequence's
 * cache was built (in which pieces, before or after a restart). Without the cache ({@code kvCache} false) every
 * consultation runs the sequence's whole history through the prior alone, as the learner computes log-probs, so an
 * answer is a function of that history only: a run whose prior is killed and restarted then draws the very bits
 * of a run without faults, at the price of reading the history again at every consultation.
 */
public final class LocalPrior implements ExperiencePrior, AutoCloseable {

    private final PolicyModel prior;
    private final SamplingParams params;
    private final DecodeBatch batch;
    /**
     * How many consecutive calls a cached sequence may sit out before it leaves the cache: a sampler's sequences
     * reach the prior in a few out-of-phase calls (groups start at different times), and evicting a sequence the
     * moment another phase is served made every call re-prefill every sequence (ten times slower at τ = 0).
     */
    static final int MAX_IDLE_CALLS = 4;

    /** Tokens of each sequence already in the prior's cache. */
    private final Map<Long, Integer> seen = new HashMap<>();
    /** Consecutive calls each cached sequence did not consult in. */
    private final Map<Long, Integer> idleCalls = new HashMap<>();
    /** Tokens fed to the prior since it was created (prefills and catch-ups, padding excluded). */
    private long tokensFed;

    private final boolean kvCache;

    /** A prior that keeps each consulting sequence's KV cache. */
    public LocalPrior(PolicyModel prior, SamplingParams params) {
        this(prior, params, true);
    }

    /** {@code kvCache} false: every answer from the whole history alone (bit-reproducible, slower; see above). */
    public LocalPrior(PolicyModel prior, SamplingParams params, boolean kvCache) {
        this.prior = prior;
        this.params = params;
        this.kvCache = kvCache;
        this.batch = new DecodeBatch(prior);
    }

    @Override
    public List<Draw> consult(List<Consultation> consultations) {
        if (!kvCache) {
            return consultations.stream().map(this::fromTheWholeHistory).toList();
        }
        Map<Long, Consultation> byId = new HashMap<>();
        consultations.forEach(c -> byId.put(c.sequenceId(), c));
        evictStaleAndIdle(byId);
        Map<Long, Draw> answers = new HashMap<>();
        try (NDManager step = prior.manager().newSubManager()) {
            catchUp(byId, answers, step);
            joinTheRest(consultations, answers, step);
        }
        List<Draw> out = new ArrayList<>();
        for (Consultation c : consultations) {
            seen.put(c.sequenceId(), c.tokens().length);
            out.add(answers.get(c.sequenceId()));
        }
        return out;
    }

    /**
     * Drops the caches that cannot answer: a consulting sequence whose history is not longer than its cache (its
     * last token's logits are gone), and a row idle for more than MAX_IDLE_CALLS calls. Rows not consulting in a
     * call wait (a sampler's sequences consult in several phases, one call each); evicting the long idle ones
     * keeps the cache bounded by the sequences consulting now and then, and a sequence asked again later
     * re-prefills.
     */
    private void evictStaleAndIdle(Map<Long, Consultation> byId) {
        List<Long> gone = new ArrayList<>();
        for (long id : batch.sequenceIds()) {
            Consultation c = byId.get(id);
            if (c != null) {
                idleCalls.remove(id);
                if (seen.get(id) >= c.tokens().length) {
                    gone.add(id);
                }
            } else if (idleCalls.merge(id, 1, Integer::sum) > MAX_IDLE_CALLS) {
                gone.add(id);
            }
        }
        batch.leave(gone);
        gone.forEach(id -> {
            seen.remove(id);
            idleCalls.remove(id);
        });
    }

    /** Feeds every cached, consulting sequence the tokens its cache lacks, in one pass, and draws its answer. */
    private void catchUp(Map<Long, Consultation> byId, Map<Long, Draw> answers, NDManager step) {
        List<Long> rows = batch.sequenceIds();
        List<long[]> newTokens = new ArrayList<>();
        List<Long> consulting = new ArrayList<>();
        List<Long> consultingRows = new ArrayList<>();
        for (int row = 0; row < rows.size(); row++) {
            Consultation c = byId.get(rows.get(row));
            long[] missing = new long[0];
            if (c != null) {
                missing = Arrays.copyOfRange(c.tokens(), seen.get(c.sequenceId()), c.tokens().length);
                consulting.add(c.sequenceId());
                consultingRows.add((long) row);
            }
            newTokens.add(missing);
            tokensFed += missing.length;
        }
        if (consulting.isEmpty()) {
            return;
        }
        NDArray logits = batch.extend(newTokens, step);
        long[] rowsOf = consultingRows.stream().mapToLong(Long::longValue).toArray();
        draw(logits.get(new NDIndex("{}", step.create(rowsOf))), consulting, byId, answers);
    }

    /** Prefills the consulting sequences the prior holds no cache for, in consultation order, and draws for them. */
    private void joinTheRest(List<Consultation> consultations, Map<Long, Draw> answers, NDManager step) {
        List<Long> joining = new ArrayList<>();
        List<long[]> prompts = new ArrayList<>();
        Map<Long, Consultation> joiningById = new HashMap<>();
        for (Consultation c : consultations) {
            if (!answers.containsKey(c.sequenceId())) {
                joining.add(c.sequenceId());
                prompts.add(c.tokens());
                joiningById.put(c.sequenceId(), c);
                tokensFed += c.tokens().length;
            }
        }
        if (!joining.isEmpty()) {
            draw(batch.join(joining, prompts, step), joining, joiningById, answers);
        }
    }

    /** The answer to {@code c} from its whole history run through the prior alone, with no cache. */
    private Draw fromTheWholeHistory(Consultation c) {
        long[] history = c.tokens();
        Draw[] answer = new Draw[1];
        try (NDManager step = prior.manager().newSubManager()) {
            NDArray ids = step.create(history, new Shape(1, history.length));
            prior.forEachLogitsChunk(ids, history.length - 1, 1, last -> {
                TokenSampler.Draw d = TokenSampler.sample(last.reshape(1, -1), params, new double[] {c.uniform()});
                answer[0] = new Draw(d.tokens()[0], d.sampledLogProbs()[0], d.keptMass()[0]);
            });
            tokensFed += history.length;
        }
        return answer[0];
    }

    private void draw(NDArray logits, List<Long> ids, Map<Long, Consultation> byId, Map<Long, Draw> answers) {
        double[] u = ids.stream().mapToDouble(id -> byId.get(id).uniform()).toArray();
        TokenSampler.Draw d = TokenSampler.sample(logits, params, u);
        for (int i = 0; i < ids.size(); i++) {
            answers.put(ids.get(i), new Draw(d.tokens()[i], d.sampledLogProbs()[i], d.keptMass()[i]));
        }
    }

    @Override
    public void release(long sequenceId) {
        batch.leave(List.of(sequenceId));
        seen.remove(sequenceId);
        idleCalls.remove(sequenceId);
    }

    /** Sequences whose caches the prior holds now (bounded by the sequences consulting within a few calls). */
    public int cachedSequences() {
        return batch.size();
    }

    /** Tokens the prior has run through its layers since creation (each prefill and catch-up; no padding). */
    long tokensFed() {
        return tokensFed;
    }

    @Override
    public void close() {
        batch.close();
    }
}
