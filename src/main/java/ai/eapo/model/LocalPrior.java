package ai.eapo.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

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
    /** Tokens of each sequence already in the prior's cache. */
    private final Map<Long, Integer> seen = new HashMap<>();

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
        stale.forEach(seen::remove);

        Map<Long, Draw> answers = new HashMap<>();
        try (NDManager step = prior.manager().newSubManager()) {
            List<Long> inBatch = batch.sequenceIds();
            if (!inBatch.isEmpty()) {
                Map<Long, Consultation> byId = new HashMap<>();
                consultations.forEach(c -> byId.put(c.sequenceId(), c));
                // Rows not consulting this step leave: the cache holds only sequences consulted step after step,
                // so its size is bounded by one step's consultations; a sequence asked again later re-prefills.
                List<Long> idle = inBatch.stream().filter(id -> !byId.containsKey(id)).toList();
                batch.leave(idle);
                idle.forEach(seen::remove);
                List<Long> advancing = batch.sequenceIds();
                if (!advancing.isEmpty()) {
                    long[] last = advancing.stream().mapToLong(id -> {
                        long[] t = byId.get(id).tokens();
                        return t[t.length - 1];
                    }).toArray();
                    draw(batch.step(last, step), advancing, byId, answers);
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
    }

    /** Sequences whose caches the prior holds now (bounded by the sequences consulting at once). */
    public int cachedSequences() {
        return batch.size();
    }

    @Override
    public void close() {
        batch.close();
    }
}
