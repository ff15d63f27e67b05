package ai.eapo.training;

import ai.eapo.algorithm.RunSeeds;
import ai.eapo.model.Generator;

import java.util.ArrayList;
import java.util.List;

/**
 * The G generation requests of one question's group at a learner step: the first {@code experienceCount}
 * are experience responses (EAPO, spec section 1), and every response slot has a seed fixed by the run seed,
 * the step, the question's place in the step's batch and the slot, so a response is the same whichever
 * sampler decodes it and whatever it is batched with.
 */
public final class GroupRollout {

    private GroupRollout() {
    }

    /** Requests with ids {@code firstId .. firstId + groupSize - 1}, slot j having id firstId + j. */
    public static List<Generator.Request> requests(long firstId, long runSeed, long step, int question, long[] prompt,
                                                   int groupSize, int experienceCount, int maxNewTokens) {
        List<Generator.Request> requests = new ArrayList<>(groupSize);
        for (int slot = 0; slot < groupSize; slot++) {
            long seed = RunSeeds.responseSlot(runSeed, step, question, groupSize, slot);
            requests.add(new Generator.Request(firstId + slot, prompt, maxNewTokens, seed, slot < experienceCount));
        }
        return requests;
    }
}
