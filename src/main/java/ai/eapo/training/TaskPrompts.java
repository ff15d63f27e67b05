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

    /** The problem as model input: its chat as rendered, or its text in the template. */
    public long[] prompt(ProblemSet.Problem problem) {
        return tokenizer.encode(problem.chat() ? problem.prompt() : template.replace(PLACEHOLDER, problem.prompt()));
    }

    /**
     * Every end-of-sequence id the model declares (config.json, generation_config.json, tokenizer_config.json): a
     * response ends at the first of them. An instruct model ends its turn with {@code <|im_end|>} but also declares
     * {@code <|endoftext|>}, so stopping at one alone would run its turns on to the token limit.
     */
    public java.util.Set<Long> stopIds() {
        if (tokenizer.eosIds().isEmpty()) {
            throw new ai.eapo.UserInputException("the tokenizer names no end-of-sequence token");
        }
        return tokenizer.eosIds();
    }

    /** The one end token appended to a supervised target: the lowest of {@link #stopIds()}. */
    public long eos() {
        return stopIds().stream().sorted().findFirst().orElseThrow();
    }

    public String decode(long[] tokens) {
        return tokenizer.decodeForDisplay(tokens);
    }
}
