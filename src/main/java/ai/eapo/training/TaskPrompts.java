package ai.eapo.training;

import ai.eapo.data.ProblemSet;
import ai.eapo.model.PolicyTokenizer;

/** How a problem becomes model input: the prompt template, tokenised, and the end-of-sequence id. */
public record TaskPrompts(PolicyTokenizer tokenizer, String template) {

    public TaskPrompts {
        if (!template.contains("{prompt}")) {
            throw new ai.eapo.UserInputException("prompt template '" + template + "' has no {prompt} placeholder");
        }
    }

    public long[] prompt(ProblemSet.Problem problem) {
        return tokenizer.encode(template.replace("{prompt}", problem.prompt()));
    }

    public long eos() {
        return tokenizer.eosIds().stream().sorted().findFirst()
                .orElseThrow(() -> new ai.eapo.UserInputException("the tokenizer names no end-of-sequence token"));
    }

    public String decode(long[] tokens) {
        return tokenizer.decodeForDisplay(tokens);
    }
}
