package ai.eapo.data;

import ai.eapo.UserInputException;

import com.typesafe.config.Config;

import java.util.List;
import java.util.Locale;

/**
 * How a data file (JSONL or parquet) of math problems names its fields, where each problem's reference answer
 * comes from, and how chat-message prompts are rendered ({@code eapo.data} in conf/application.conf). Field names
 * (or dotted paths into nested objects, {@code reward_model.ground_truth}) are tried in order; the first present
 * one is used.
 *
 * @param answerFrom {@link AnswerSource#AUTO} reads the answer field, taking N from a GSM8K worked solution
 *     that ends in {@code #### N}, and without an answer field the last {@code \boxed{}} of the solution (MATH)
 */
public record DataFormat(List<String> problemFields, List<String> answerFields, List<String> solutionFields,
                         List<String> subjectFields, List<String> levelFields, AnswerSource answerFrom,
                         ChatFormat chat) {

    /** Where the reference answer comes from. */
    public enum AnswerSource {
        /** GSM8K's {@code #### N} when the answer field ends with it, else the answer field, else the solution's box. */
        AUTO,
        /** The answer field as it is. */
        FIELD,
        /** The {@code #### N} line of the answer field (GSM8K); the field is kept as the solution. */
        GSM8K,
        /** The last {@code \boxed{}} of the solution field (MATH). */
        BOXED
    }

    public DataFormat {
        if (problemFields.isEmpty() || answerFields.isEmpty() && solutionFields.isEmpty()) {
            throw new UserInputException("eapo.data.fields: name at least one problem field, and an answer or solution field");
        }
    }

    /** The format {@code eapo.data} describes. */
    public static DataFormat fromConfig(Config config) {
        Config data = config.getConfig("eapo.data");
        String source = data.getString("answer-from");
        AnswerSource answerFrom;
        try {
            answerFrom = AnswerSource.valueOf(source.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new UserInputException("eapo.data.answer-from = " + source + ": use auto, field, gsm8k or boxed");
        }
        Config fields = data.getConfig("fields");
        Config chat = data.getConfig("chat-format");
        return new DataFormat(fields.getStringList("problem"), fields.getStringList("answer"),
                fields.getStringList("solution"), fields.getStringList("subject"), fields.getStringList("level"),
                answerFrom, new ChatFormat(chat.getString("message"), chat.getString("generation-prompt"),
                chat.getString("default-system")));
    }
}
