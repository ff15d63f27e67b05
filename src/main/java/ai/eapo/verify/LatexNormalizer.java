package ai.eapo.verify;

import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Rewrites an answer into the small LaTeX dialect {@link MathParser} reads: drops display delimiters, sizing and
 * spacing commands, units, degree marks, dollar signs, thousands separators and trailing periods; folds
 * {@code \dfrac}/{@code \tfrac} into {@code \frac}. Stateless and thread-safe.
 */
public final class LatexNormalizer {

    private static final String[][] REPLACEMENTS = {
        {",\\! ", ","}, {"!=", "\\ne "}, {"\n", " "}, {"\\$", ""}, {"$", ""}, {"\\(", ""}, {"\\)", ""}, {"\\[", ""}, {"\\]", ""},
        {"\\rightarrow", "\\to"}, {"\\left.", ""}, {"\\right.", ""}, {"\\left", ""}, {"\\right", ""},
        {"\\bigl", ""}, {"\\bigr", ""}, {"\\Bigl", ""}, {"\\Bigr", ""}, {"\\big", ""}, {"\\Big", ""},
        {"\\displaystyle", ""}, {"\\textstyle", ""}, {"\\!", ""}, {"\\,", " "}, {"\\;", " "}, {"\\:", " "},
        {"\\qquad", " "}, {"\\quad", " "}, {"\\ ", " "}, {"~", " "},
        {"\\dfrac", "\\frac"}, {"\\tfrac", "\\frac"}, {"\\cfrac", "\\frac"}, {"\\dbinom", "\\binom"},
        {"\\tbinom", "\\binom"}, {"^{\\circ}", ""}, {"^\\circ", ""}, {"\\circ", ""}, {"°", ""}, {"\\degree", ""},
        {"\\emptyset", "\\{\\}"}, {"\\varnothing", "\\{\\}"}, {"{,}", ","}, {"\\infinity", "\\infty"},
        {"\\leqslant", "\\le"}, {"\\geqslant", "\\ge"}, {"≤", "\\le"}, {"≥", "\\ge"}, {"≠", "\\ne"},
        {"\\imath", "i"}, {"π", "\\pi"}, {"∞", "\\infty"}, {"√", "\\sqrt"}, {"×", "\\times"}, {"·", "\\cdot"}, {"−", "-"},
    };
    /** Commands whose argument is plain text: kept as their content (or dropped as a trailing unit). */
    private static final String[] TEXT_COMMANDS = {
        "\\text", "\\textnormal", "\\textbf", "\\textit", "\\textrm", "\\mbox", "\\mathrm", "\\mathbf", "\\mathit", "\\operatorname",
        "\\boxed",
    };
    private static final Set<String> PERCENT_WORDS = Set.of("percent", "percentage", "pct");
    /** Words that are mathematics, not units, when they end an answer. */
    private static final Set<String> MATH_WORDS = Set.of("sin", "cos", "tan", "cot", "sec", "csc", "log", "ln",
            "exp", "sqrt", "pi", "and", "or", "infty");
    private static final Pattern THOUSANDS_COMMA = Pattern.compile("(?<![\\d.(\\[{])(\\d{1,3})((?:,\\d{3})+)(?!\\d)");
    private static final Pattern THOUSANDS_SPACE = Pattern.compile("(?<![\\d.])(\\d{1,3})((?: \\d{3})+)(?![\\d.])");
    /** What may follow a trailing unit: nothing, or a power as in cm^2. */
    private static final Pattern UNIT_POWER = Pattern.compile("\\s*(\\^\\{?\\d\\}?)?\\s*");
    /** \\frac from double escaping; not the tail of \\\end, a row break followed by a command. */
    private static final Pattern ESCAPED_COMMAND = Pattern.compile("(?<!\\\\)\\\\\\\\(?=[a-zA-Z])");
    private static final Pattern WHITESPACE = Pattern.compile("\\s+");
    /** "1 and 2", "x = 1 or x = 2", "1; 2": several answers, read as a comma list (as math-verify does). */
    private static final Pattern LIST_SEPARATOR = Pattern.compile(
            "\\s+(?:and|or)\\s+|\\s*;\\s*|(?<=[)\\]])\\s*(?:and|or)\\s*(?=[(\\[])");
    /** "x = 1/3 \\approx 0.33": after an equation, the exact value before the approximation is the answer. */
    private static final Pattern APPROXIMATION_TAIL = Pattern.compile("=[^=]*?\\S\\s*(\\\\approx(?![a-zA-Z]).*)$");

    public NormalizedAnswer normalize(String answer) {
        // an escaped backslash before a command (\\frac, from double escaping) stands for one backslash;
        // any other \\ is a matrix row break, renamed before "\ " (a space command) can eat half of it
        String s = ESCAPED_COMMAND.matcher(answer.strip()).replaceAll("\\\\");
        s = s.replace("\\\\", " \\cr ");
        for (String[] r : REPLACEMENTS) {
            s = s.replace(r[0], r[1]);
        }
        boolean percent = s.contains("%");
        s = s.replace("\\%", "").replace("%", "");
        s = stripTextCommands(s);
        s = LIST_SEPARATOR.matcher(s).replaceAll(", ");
        Matcher approx = APPROXIMATION_TAIL.matcher(s);
        if (approx.find()) {
            s = s.substring(0, approx.start(1));
        }
        s = removeThousandsSeparators(s);
        s = WHITESPACE.matcher(s).replaceAll(" ").strip();
        TrailingWords tail = stripTrailingWords(s);
        s = stripTrailingPunctuation(tail.rest());
        return new NormalizedAnswer(s, percent || tail.percent());
    }

    /** Drops a trailing unit such as {@code \text{ cm}} when something precedes it; unwraps every other one. */
    private static String stripTextCommands(String s) {
        for (String command : TEXT_COMMANDS) {
            s = unwrapCommand(s, command);
        }
        return s;
    }

    private static String unwrapCommand(String s, String command) {
        StringBuilder out = new StringBuilder(s.length());
        int i = 0;
        while (true) {
            int at = s.indexOf(command + "{", i);
            if (at < 0) {
                return out.append(s, i, s.length()).toString();
            }
            int close = matchingBrace(s, at + command.length());
            if (close < 0) {
                return out.append(s, i, s.length()).toString();
            }
            String content = s.substring(at + command.length() + 1, close);
            boolean trailingUnit = UNIT_POWER.matcher(s.substring(close + 1)).matches() && !s.substring(i, at).isBlank()
                    && !command.equals("\\boxed") && isUnitLike(content);
            out.append(s, i, at);
            if (trailingUnit) {
                return out.toString(); // the unit and its power, if any, end the answer
            }
            out.append(content);
            i = close + 1;
        }
    }

    private static boolean isUnitLike(String content) {
        String c = content.strip();
        // \mathrm{i} is the imaginary unit, never a unit of measure
        return !c.isEmpty() && !c.equals("i") && c.chars().allMatch(ch -> Character.isLetter(ch) || ch == ' ' || ch == '^'
                || Character.isDigit(ch) || ch == '.' || ch == '/');
    }

    /** Index of the brace closing the one at {@code open}, or -1. */
    static int matchingBrace(String s, int open) {
        int depth = 0;
        for (int j = open; j < s.length(); j++) {
            char ch = s.charAt(j);
            if (ch == '\\') {
                j++;
            } else if (ch == '{') {
                depth++;
            } else if (ch == '}' && --depth == 0) {
                return j;
            }
        }
        return -1;
    }

    private static String removeThousandsSeparators(String s) {
        s = THOUSANDS_COMMA.matcher(s).replaceAll(m -> m.group(1) + m.group(2).replace(",", ""));
        return THOUSANDS_SPACE.matcher(s).replaceAll(m -> m.group(1) + m.group(2).replace(" ", ""));
    }

    private record TrailingWords(String rest, boolean percent) {
    }

    /** "5 cm", "10 dollars", "28 percent": drops trailing plain words (2+ letters) that follow mathematics. */
    private static TrailingWords stripTrailingWords(String s) {
        boolean percent = false;
        while (true) {
            int space = s.lastIndexOf(' ');
            if (space <= 0) {
                return new TrailingWords(s, percent);
            }
            String word = s.substring(space + 1);
            String lower = word.toLowerCase(Locale.ROOT).replace(".", "");
            String before = s.substring(0, space).stripTrailing();
            boolean plainWord = lower.length() >= 2 && lower.chars().allMatch(Character::isLetter);
            if (!plainWord || MATH_WORDS.contains(lower) || before.isEmpty() || before.endsWith("\\")
                    || !endsWithMath(before)) {
                return new TrailingWords(s, percent);
            }
            percent |= PERCENT_WORDS.contains(lower);
            s = before;
        }
    }

    private static boolean endsWithMath(String s) {
        char last = s.charAt(s.length() - 1);
        return Character.isDigit(last) || ")]}".indexOf(last) >= 0 || Character.isLetter(last);
    }

    private static String stripTrailingPunctuation(String s) {
        while (!s.isEmpty() && ".,;:".indexOf(s.charAt(s.length() - 1)) >= 0 && !s.endsWith("\\,")) {
            s = s.substring(0, s.length() - 1).stripTrailing();
        }
        return s;
    }
}
