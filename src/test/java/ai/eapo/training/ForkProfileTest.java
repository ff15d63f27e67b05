package ai.eapo.training;

import ai.djl.Device;
import ai.eapo.data.ProblemSet;
import ai.eapo.model.Checkpoint;
import ai.eapo.model.PolicyModel;
import ai.eapo.model.PolicyTokenizer;
import ai.eapo.model.SamplingParams;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Countdown task promises forks: its base is uncertain where it chooses a move, and sure elsewhere. */
class ForkProfileTest {

    private static final Path BASE = Path.of("models/countdown-base");
    private static final Path HELD_OUT = Path.of("data/countdown/test.jsonl");
    private static final int PROBLEMS = 48;
    private static final int MAX_NEW_TOKENS = 80;

    @Test
    void theForkCharactersAreEachStepsOperandsAndOperation() {
        String response = "8-5=3. 3*12=36. The answer is \\boxed{36}.";
        boolean[] fork = ForkProfile.forkCharacters(response);
        StringBuilder marked = new StringBuilder();
        for (int c = 0; c < response.length(); c++) {
            marked.append(fork[c] ? '^' : ' ');
        }
        assertArrayEquals("^^^    ^^^^                           ".toCharArray(),
                marked.substring(0, 38).toCharArray(), marked.toString());
    }

    @Test
    void theCommittedBaseIsUncertainAtTheForksAndSureElsewhere() throws Exception {
        List<ProblemSet.Problem> problems = ProblemSet.read(HELD_OUT).subList(0, PROBLEMS);
        try (PolicyModel policy = Checkpoint.load(BASE, Device.cpu());
             PolicyTokenizer tokenizer = PolicyTokenizer.load(BASE, policy.config())) {
            TaskPrompts prompts = new TaskPrompts(tokenizer, "{prompt}\n");
            ForkProfile.Profile profile = ForkProfile.measure(policy, prompts, problems, new SamplingParams(1, 1, 0),
                    MAX_NEW_TOKENS, PROBLEMS, 0);
            assertTrue(profile.forkTokens() > 4L * PROBLEMS, profile.toString());
            assertTrue(profile.forkMean() > profile.otherMean(), profile.toString());
        }
    }
}
