package ai.eapo.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * A prior model in this JVM with a KV cache per consulting sequence. A sequence whose cache is exactly one
 * token behind is advanced by one batched decode step; one further behind (it advanced on the policy alone
 * since its last consultation) is re-prefilled in one pass, so the prior's work follows consultations,
 * not every generated token.
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

    public LocalPrior(PolicyModel prior, SamplingParams params) {
        this.prior = prior;
        this.params = params;
        this.batch = new DecodeBatch(prior);
    }

    @Override
    public List<Draw> consult(List<Consultation> consultations) {
        // Sequences exactly one token ahead of their cache advance in one batched step; others re-prefill.
        List<Long> stale = new ArrayList<>();
        for (Consultation c : consultations) {
            Integer have = seen.get(c.sequenceId());
            if (have != null && have != c.tokens().length - 1) {
                stale.add(c.sequenceId());
            }
        }
        batch.leave(stale);
        stale.forEach(id -> {
            seen.remove(id);
            idleCalls.remove(id);
        });

        Map<Long, Draw> answers = new HashMap<>();
        try (NDManager step = prior.manager().newSubManager()) {
            List<Long> inBatch = batch.sequenceIds();
            if (!inBatch.isEmpty()) {
                Map<Long, Consultation> byId = new HashMap<>();
                consultations.forEach(c -> byId.put(c.sequenceId(), c));
                // Rows not consulting in this call wait (a sampler's sequences consult in several phases, one call
                // each); a row idle for more than MAX_IDLE_CALLS calls leaves, so the cache stays bounded by the
                // sequences consulting now and then, and a sequence asked again later re-prefills.
                List<Long> gone = new ArrayList<>();
                for (long id : inBatch) {
                    if (byId.containsKey(id)) {
                        idleCalls.remove(id);
                    } else if (idleCalls.merge(id, 1, Integer::sum) > MAX_IDLE_CALLS) {
                        gone.add(id);
                    }
                }
                batch.leave(gone);
                gone.forEach(id -> {
                    seen.remove(id);
                    idleCalls.remove(id);
                });
                List<Long> rows = batch.sequenceIds();
                long[] last = new long[rows.size()];
                boolean[] advancing = new boolean[rows.size()];
                List<Long> advancingIds = new ArrayList<>();
                for (int i = 0; i < rows.size(); i++) {
                    Consultation c = byId.get(rows.get(i));
                    if (c != null) {
                        last[i] = c.tokens()[c.tokens().length - 1];
                        advancing[i] = true;
                        advancingIds.add(rows.get(i));
                    }
                }
                if (!advancingIds.isEmpty()) {
                    NDArray logits = batch.step(last, advancing, step);
                    long[] rowsOf = IntStream.range(0, rows.size()).filter(i -> advancing[i]).asLongStream().toArray();
                    draw(logits.get(new NDIndex("{}", step.create(rowsOf))), advancingIds, byId, answers);
                }
            }
            List<Long> joining = new ArrayList<>();
            List<long[]> prompts = new ArrayList<>();
            Map<Long, Consultation> joiningById = new HashMap<>();
            for (Consultation c : consultations) {
                if (!answers.containsKey(c.sequenceId())) {
                    joining.add(c.sequenceId());
                    prompts.add(c.tokens());
                    joiningById.put(c.sequenceId(), c);
                }
            }
            if (!joining.isEmpty()) {
                draw(batch.join(joining, prompts, step), joining, joiningById, answers);
            }
        }
        List<Draw> out = new ArrayList<>();
        for (Consultation c : consultations) {
            seen.put(c.sequenceId(), c.tokens().length);
            out.add(answers.get(c.sequenceId()));
        }
        return out;
    }

    private void draw(NDArray logits, List<Long> ids, Map<Long, Consultation> byId, Map<Long, Draw> answers) {
        double[] u = ids.stream().mapToDouble(id -> byId.get(id).uniform()).toArray();
        TokenSampler.Draw d = TokenSampler.sample(logits, params, u);
        for (int i = 0; i < ids.size(); i++) {
            answers.put(ids.get(i), new Draw(d.tokens()[i], d.logProbs()[i]));
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

    @Override
    public void close() {
        batch.close();
    }
}
