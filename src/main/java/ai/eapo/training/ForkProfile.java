package ai.eapo.training;

import ai.eapo.data.ProblemSet;
import ai.eapo.model.Generator;
import ai.eapo.model.PolicyModel;
import ai.eapo.model.SamplingParams;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where a Countdown policy is uncertain: its mean entropy at the fork tokens of its own responses (each step's
 * operands and operation, {@code 8-5} of {@code 8-5=3.}: the choice of what to combine next) against every other
 * token (results, punctuation, the answer's wording). EAPO consults the prior where entropy is high, so a task
 * suits it when the high entropy sits at the forks. Entropies are the policy's at the sampling temperature, as
 * the decoder reports them for the tokens it samples.
 */
public final class ForkProfile {

    /** The operands and operation of a step: the part before its {@code =}. */
    private static final Pattern STEP_CHOICE = Pattern.compile("(\\d+\\s*[-+*/]\\s*\\d+)\\s*=");

    /** Mean entropy (nats) and token count at fork tokens and at the others. */
    public record Profile(double forkMean, long forkTokens, double otherMean, long otherTokens) {
        @Override
        public String toString() {
            return String.format(java.util.Locale.ROOT, "mean entropy %.3f nats at %d fork tokens, %.3f at %d others",
                    forkMean, forkTokens, otherMean, otherTokens);
        }
    }

    private ForkProfile() {
    }

    /** Samples one response per problem with {@code params} and profiles the entropies of its tokens. */
    public static Profile measure(PolicyModel policy, TaskPrompts prompts, List<ProblemSet.Problem> problems,
                                  SamplingParams params, int maxNewTokens, int decodeBatchSize, long seed) {
        List<Generator.Request> requests = new ArrayList<>();
        for (int i = 0; i < problems.size(); i++) {
            requests.add(new Generator.Request(i, prompts.prompt(problems.get(i)), maxNewTokens, seed + i));
        }
        List<Generator.Completion> out = new Generator(policy, params, prompts.stopIds(), decodeBatchSize).generate(requests);
        double forkSum = 0;
        double otherSum = 0;
        long forks = 0;
        long others = 0;
        for (Generator.Completion c : out) {
            boolean[] fork = forkTokens(c.tokens(), prompts);
            for (int k = 0; k < fork.length; k++) {
                if (fork[k]) {
                    forkSum += c.entropies()[k];
                    forks++;
                } else {
                    otherSum += c.entropies()[k];
                    others++;
                }
            }
        }
        return new Profile(forks == 0 ? Double.NaN : forkSum / forks, forks, others == 0 ? Double.NaN : otherSum / others, others);
    }

    /** For each token of a response: whether any of its characters is a fork character. */
    static boolean[] forkTokens(long[] tokens, TaskPrompts prompts) {
        String text = prompts.decode(tokens);
        boolean[] forkChars = forkCharacters(text);
        boolean[] fork = new boolean[tokens.length];
        int start = 0;
        for (int k = 0; k < tokens.length; k++) {
            // a token's characters: what decoding one more token added (tokenizers may merge or drop text)
            int end = Math.min(text.length(), prompts.decode(java.util.Arrays.copyOf(tokens, k + 1)).length());
            for (int c = start; c < end; c++) {
                fork[k] |= forkChars[c];
            }
            start = Math.max(start, end);
        }
        return fork;
    }

    /** The characters of {@code response} that are a step's operands or operation. */
    static boolean[] forkCharacters(String response) {
        boolean[] fork = new boolean[response.length()];
        Matcher m = STEP_CHOICE.matcher(response);
        while (m.find()) {
            for (int c = m.start(1); c < m.end(1); c++) {
                fork[c] = !Character.isWhitespace(response.charAt(c));
            }
        }
        return fork;
    }
}
