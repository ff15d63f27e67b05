package ai.eapo.verify;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Takes the final answer out of a model response. Rules, in priority order: the last {@code \boxed{}} /
 * {@code \fbox{}} with the boxes joined to it by "," / "and" / "or" (unless a "final answer is $X$" statement
 * follows it), GSM8K's {@code #### N}, the last "answer is ...", the last math block, a short response without
 * prose taken whole, and (if enabled) the last number.
 * All scans are linear in the response length; no backtracking-prone regular expressions.
 */
public final class AnswerExtractor {

    private static final String[] BOX_COMMANDS = {"\\boxed", "\\fbox"};
    private static final String GSM8K_MARK = "####";
    /** math-verify joins up to six boxed answers; more in a row is unusual enough to stop at. */
    private static final int MAX_JOINED_BOXES = 6;
    /** The closing statement of Minerva-style prompts: "Final Answer: The final answer is $X$. I hope it is correct." */
    private static final Pattern FINAL_ANSWER_IS = Pattern.compile("final answer is:?", Pattern.CASE_INSENSITIVE);
    /** Stands in for the dollar of an escaped {@code \$} while math delimiters are searched. */
    private static final char ESCAPED_DOLLAR_MASK = '\u0000';
    /** "2,74" in running text: one or two digits after a comma make a decimal comma, three a thousands separator. */
    private static final Pattern DECIMAL_COMMA = Pattern.compile("-?\\d+,\\d{1,2}");
    /** Responses up to this long with no prose word are taken whole as the answer. */
    private static final int MAX_BARE_RESPONSE_CHARS = 200;
    private static final Pattern ANSWER_IS = Pattern.compile("answer(?: is|:)", Pattern.CASE_INSENSITIVE);
    /** A plain word of three letters or more (not a LaTeX command): marks prose rather than mathematics. */
    private static final Pattern PROSE_WORD = Pattern.compile("(?<![\\\\a-zA-Z])[a-zA-Z]{3,}");
    /** A number not glued to letters on its left ("AZYUK2A" holds no answer; "100m2" does). */
    private static final Pattern NUMBER = Pattern.compile("(?<![A-Za-z])-?(?:\\d[\\d,]*(?:\\.\\d+)?|\\.\\d+)(?:/\\d+)?");

    private final boolean fallbackToLastNumber;

    public AnswerExtractor(boolean fallbackToLastNumber) {
        this.fallbackToLastNumber = fallbackToLastNumber;
    }

    public Extraction extract(String response) {
        String boxed = lastBoxedGroup(response);
        if (boxed != null) {
            // "... \boxed{255} ... Final Answer: The final answer is $10,455$.": the closing statement wins
            String finalAnswer = finalAnswerAfterLastBox(response);
            return finalAnswer != null ? new Extraction(finalAnswer, ExtractionRule.ANSWER_IS)
                    : new Extraction(boxed, ExtractionRule.BOXED);
        }
        String hashes = afterLastGsm8kMark(response);
        if (hashes != null) {
            return new Extraction(hashes, ExtractionRule.GSM8K_HASHES);
        }
        String answerIs = afterLastAnswerIs(response);
        if (answerIs != null) {
            return new Extraction(answerIs, ExtractionRule.ANSWER_IS);
        }
        String math = lastMathBlock(response);
        if (math != null) {
            return new Extraction(math, ExtractionRule.LAST_MATH);
        }
        String stripped = response.strip();
        if (stripped.length() <= MAX_BARE_RESPONSE_CHARS && !PROSE_WORD.matcher(stripped).find()) {
            // a short response without prose, such as "\frac{10}{9}" or "1 000", is the answer itself
            return new Extraction(stripped, ExtractionRule.WHOLE_RESPONSE);
        }
        if (fallbackToLastNumber) {
            String number = lastNumber(response);
            if (number != null) {
                // in running text "2,74" (one or two digits after the comma) is a decimal comma, not a list
                String decimal = DECIMAL_COMMA.matcher(number).matches() ? number.replace(',', '.') : number;
                return new Extraction(decimal, ExtractionRule.LAST_NUMBER);
            }
        }
        return Extraction.NONE;
    }

    /** Content of the last well-formed {@code \boxed{...}} (nested braces allowed), or null. */
    static String lastBoxed(String text) {
        Box box = lastBox(text, text.length());
        return box == null ? null : box.content();
    }

    /**
     * The last box together with the boxes just before it that are joined to it as one answer list
     * ({@code \boxed{1}, \boxed{2}} or {@code \boxed{1} and \boxed{2}}), joined by ", "; null when there is no box.
     * Models often box each solution separately, and math-verify reads such runs as one list.
     */
    static String lastBoxedGroup(String text) {
        Box box = lastBox(text, text.length());
        if (box == null) {
            return null;
        }
        Deque<String> parts = new ArrayDeque<>();
        parts.push(box.content());
        while (parts.size() < MAX_JOINED_BOXES && box.start() > 0) {
            Box previous = lastBox(text, box.start() - 1);
            if (previous == null || previous.end() > box.start()
                    || !BoxGap.joins(text.substring(previous.end(), box.start()))) {
                break;
            }
            parts.push(previous.content());
            box = previous;
        }
        return String.join(", ", parts);
    }

    /** A box: where its command starts, where it ends (exclusive) and its trimmed content. */
    private record Box(int start, int end, String content) {
    }

    /** The last well-formed, non-blank box that starts at or before {@code from}, or null. */
    private static Box lastBox(String text, int from) {
        int searchFrom = from;
        while (true) {
            int at = -1;
            String command = null;
            for (String c : BOX_COMMANDS) {
                int i = text.lastIndexOf(c, searchFrom);
                if (i > at) {
                    at = i;
                    command = c;
                }
            }
            if (at < 0) {
                return null;
            }
            Box box = boxAt(text, at, at + command.length());
            if (box != null && !box.content().isBlank()) {
                return box;
            }
            if (at == 0) {
                return null;
            }
            searchFrom = at - 1;
        }
    }

    private static Box boxAt(String text, int commandStart, int start) {
        int i = start;
        while (i < text.length() && text.charAt(i) == ' ') {
            i++;
        }
        if (i >= text.length()) {
            return null;
        }
        if (text.charAt(i) != '{') {
            // "\boxed 5": the argument runs to the next space or dollar sign
            int end = i;
            while (end < text.length() && " $\n".indexOf(text.charAt(end)) < 0) {
                end++;
            }
            return start == i ? null : new Box(commandStart, end, text.substring(i, end).trim());
        }
        int depth = 0;
        for (int j = i; j < text.length(); j++) {
            char ch = text.charAt(j);
            if (ch == '\\') {
                j++; // escaped brace such as \{ does not count
            } else if (ch == '{') {
                depth++;
            } else if (ch == '}' && --depth == 0) {
                return new Box(commandStart, j + 1, text.substring(i + 1, j).trim());
            }
        }
        return null;
    }

    /** The answer of a "final answer is" statement that comes after the last box, or null. */
    private static String finalAnswerAfterLastBox(String text) {
        int end = lastFinalAnswerEnd(text);
        int lastBox = Math.max(text.lastIndexOf(BOX_COMMANDS[0]), text.lastIndexOf(BOX_COMMANDS[1]));
        return end < 0 || lastBox > end ? null : finalAnswerStatement(text);
    }

    /** The math of the last "final answer is $X$" statement, or null. */
    static String finalAnswerStatement(String text) {
        int end = lastFinalAnswerEnd(text);
        if (end < 0) {
            return null;
        }
        String math = leadingMath(text.substring(end).stripLeading());
        return math == null || math.isBlank() ? null : math.trim();
    }

    private static int lastFinalAnswerEnd(String text) {
        Matcher m = FINAL_ANSWER_IS.matcher(text);
        int end = -1;
        while (m.find()) {
            end = m.end();
        }
        return end;
    }

    /**
     * GSM8K's final answer: the rest of the line after the last {@code ####}, trimmed; null when there is no mark
     * or nothing follows it. The one place that reads {@code #### N} (responses, references, and the data files
     * through {@link #extract}).
     */
    static String afterLastGsm8kMark(String text) {
        int at = text.lastIndexOf(GSM8K_MARK);
        if (at < 0) {
            return null;
        }
        String rest = firstLine(text.substring(at + GSM8K_MARK.length())).trim();
        return rest.isEmpty() ? null : rest;
    }

    private static String afterLastAnswerIs(String text) {
        Matcher m = ANSWER_IS.matcher(text);
        int end = -1;
        while (m.find()) {
            end = m.end();
        }
        if (end < 0) {
            return null;
        }
        String rest = text.substring(end).stripLeading();
        if (rest.startsWith(":")) {
            rest = rest.substring(1).stripLeading();
        }
        String math = leadingMath(rest);
        String answer = math != null ? math : firstSentence(firstLine(rest));
        if (math == null && PROSE_WORD.matcher(answer).find()) {
            // "The largest $n$ is 34": the sentence is prose; its math block or last number is the answer
            String inner = lastMathBlock(answer);
            answer = inner != null && lastNumber(answer) == null ? inner : lastNumber(answer);
            if (answer == null) {
                return null;
            }
        }
        answer = answer.trim();
        return answer.isEmpty() ? null : answer;
    }

    /** If the text starts with $..$, $$..$$, \(..\) or \[..\], their content; else null. */
    private static String leadingMath(String text) {
        String[][] delimiters = {{"$$", "$$"}, {"$", "$"}, {"\\(", "\\)"}, {"\\[", "\\]"}};
        for (String[] d : delimiters) {
            if (text.startsWith(d[0])) {
                int close = text.indexOf(d[1], d[0].length());
                return close < 0 ? null : text.substring(d[0].length(), close);
            }
        }
        return null;
    }

    /**
     * Content of the last math block: {@code \[...\]} or {@code $$...$$} (may span lines), {@code \(...\)} or
     * {@code $...$} (one line, as inline math). Null when there is none or it is empty.
     */
    static String lastMathBlock(String text) {
        // an escaped dollar (a price inside math) delimits nothing; masking keeps every index valid
        String masked = text.replace("\\$", "\\" + ESCAPED_DOLLAR_MASK);
        String best = null;
        int bestEnd = -1;
        String[][] delimiters = {{"\\[", "\\]"}, {"$$", "$$"}, {"\\(", "\\)"}, {"$", "$"}};
        for (String[] d : delimiters) {
            int close = masked.lastIndexOf(d[1]);
            if (close <= bestEnd || close < 1) {
                continue;
            }
            int open = masked.lastIndexOf(d[0], close - 1);
            if (open < 0 || open + d[0].length() > close) {
                continue;
            }
            String content = text.substring(open + d[0].length(), close);
            boolean inline = d[0].equals("$") || d[0].equals("\\(");
            boolean nestedDollar = masked.substring(open + d[0].length(), close).contains("$");
            if (!content.isBlank() && !(inline && content.indexOf('\n') >= 0) && !nestedDollar) {
                best = content.trim();
                bestEnd = close;
            }
        }
        return best;
    }

    private static String firstLine(String text) {
        int nl = text.indexOf('\n');
        return nl < 0 ? text : text.substring(0, nl);
    }

    /** Cuts at the first ". " (sentence end) that is not a decimal point, and drops a final period. */
    private static String firstSentence(String line) {
        for (int i = 0; i + 1 < line.length(); i++) {
            if (line.charAt(i) == '.' && Character.isWhitespace(line.charAt(i + 1))) {
                return line.substring(0, i);
            }
        }
        return line.endsWith(".") ? line.substring(0, line.length() - 1) : line;
    }

    private static String lastNumber(String text) {
        Matcher m = NUMBER.matcher(text);
        String last = null;
        while (m.find()) {
            last = m.group();
        }
        return last;
    }
}
