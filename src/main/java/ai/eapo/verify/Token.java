package ai.eapo.verify;

/**
 * A lexical unit of normalised LaTeX.
 *
 * @param kind what the token is
 * @param text the number digits, the letter, the command name without backslash, or the symbol character
 */
record Token(Kind kind, String text) {

    enum Kind { NUMBER, LETTER, COMMAND, SYMBOL, END }

    static final Token END = new Token(Kind.END, "");

    boolean is(Kind k, String t) {
        return kind == k && text.equals(t);
    }

    boolean isSymbol(String t) {
        return is(Kind.SYMBOL, t);
    }

    boolean isCommand(String t) {
        return is(Kind.COMMAND, t);
    }
}
