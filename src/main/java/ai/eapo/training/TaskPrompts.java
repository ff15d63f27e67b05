package ai.eapo.training;

import ai.eapo.data.ProblemSet;
import ai.eapo.model.PolicyTokenizer;

/** How a problem becomes model input: the prompt template, tokenised, and the end-of-sequence id. */
public record TaskPrompts(PolicyTokenizer tokenizer, String template) {

    /** Where the problem text goes in a template. */
    public static final String PLACEHOLDER = "{prompt}";

    public TaskPrompts {
        if (!template.contains(PLACEHOLDER)) {
            throw new ai.eapo.UserInputException("eapo.data.prompt-template '" + template + "' has no " + PLACEHOLDER
                    + " placeholder and names none of eapo.data.prompt-templates");
        }
    }

    public long[] prompt(ProblemSet.Problem problem) {
        return tokenizer.encode(template.replace(PLACEHOLDER, problem.prompt()));
    }

    public long eos() {
        return tokenizer.eosIds().stream().sorted().findFirst()
                .orElseThrow(() -> new ai.eapo.UserInputException("the tokenizer names no end-of-sequence token"));
    }

    public String decode(long[] tokens) {
        return tokenizer.decodeForDisplay(tokens);
    }
}
