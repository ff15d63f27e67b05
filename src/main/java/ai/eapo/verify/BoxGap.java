package ai.eapo.verify;

import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Decides whether the text between two boxed answers joins them into one answer list. math-verify reads
 * {@code \boxed{1}, \boxed{2}}, {@code $\boxed{1}$ and $\boxed{2}$} and {@code \boxed{1}\boxed{2}} as the list 1, 2,
 * but keeps only the last box when prose such as "then correcting:" separates them.
 */
final class BoxGap {

    /** Longer gaps are sentences, not connectives. */
    private static final int MAX_GAP_CHARS = 80;
    /** "papers and" joins, "no no no no no" does not: a connective may carry a few words (units, "for part (a)"). */
    private static final int MAX_GAP_WORDS = 5;
    /** Math delimiters, spacing and text wrappers, which say nothing about joining. */
    private static final Pattern LAYOUT = Pattern.compile(
            "\\\\text\\{|\\\\mbox\\{|\\\\textnormal\\{|\\\\quad|\\\\qquad|\\\\[,;:! ]|\\\\\\(|\\\\\\)|\\\\\\[|\\\\\\]|[${}~]");
    private static final Pattern SEPARATORS = Pattern.compile("[\\s,;]+");
    private static final Pattern SENTENCE_END = Pattern.compile("\\.\\s|\\n\\s*\\n");

    private BoxGap() {
    }

    static boolean joins(String gap) {
        if (gap.length() > MAX_GAP_CHARS || SENTENCE_END.matcher(gap).find()) {
            return false;
        }
        String words = SEPARATORS.matcher(LAYOUT.matcher(gap).replaceAll(" ")).replaceAll(" ").strip();
        if (words.isEmpty()) {
            return true; // only commas, semicolons, spacing or delimiters
        }
        String[] split = words.toLowerCase(Locale.ROOT).split(" ");
        if (split.length > MAX_GAP_WORDS) {
            return false;
        }
        for (String w : split) {
            if (w.equals("and") || w.equals("or")) {
                return true;
            }
        }
        return false;
    }
}
