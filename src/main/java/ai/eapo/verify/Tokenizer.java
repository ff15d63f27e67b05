package ai.eapo.verify;

import java.util.ArrayList;
import java.util.List;

/** Splits normalised LaTeX into {@link Token}s. Letters are single tokens (implicit products); spaces vanish. */
final class Tokenizer {

    private Tokenizer() {
    }

    static List<Token> tokenize(String s, CheckBudget budget) {
        List<Token> tokens = new ArrayList<>();
        int i = 0;
        while (i < s.length()) {
            budget.tick();
            char c = s.charAt(i);
            if (Character.isWhitespace(c)) {
                i++;
            } else if (Character.isDigit(c) || (c == '.' && i + 1 < s.length() && Character.isDigit(s.charAt(i + 1)))) {
                int end = numberEnd(s, i);
                tokens.add(new Token(Token.Kind.NUMBER, s.substring(i, end)));
                i = end;
            } else if (Character.isLetter(c)) {
                tokens.add(new Token(Token.Kind.LETTER, String.valueOf(c)));
                i++;
            } else if (c == '\\') {
                int end = i + 1;
                while (end < s.length() && Character.isLetter(s.charAt(end))) {
                    end++;
                }
                if (end == i + 1 && end < s.length()) {
                    end++; // one-character command: \{ \} \| \\ and the like
                }
                tokens.add(new Token(Token.Kind.COMMAND, s.substring(i + 1, end)));
                i = end;
            } else {
                tokens.add(new Token(Token.Kind.SYMBOL, String.valueOf(c)));
                i++;
            }
        }
        return tokens;
    }

    /** Digits, an optional fraction part and an optional exponent such as {@code e-5}. */
    private static int numberEnd(String s, int start) {
        int i = digitsEnd(s, start);
        if (i < s.length() && s.charAt(i) == '.' && i + 1 < s.length() && Character.isDigit(s.charAt(i + 1))) {
            i = digitsEnd(s, i + 1);
        }
        if (i < s.length() && (s.charAt(i) == 'e' || s.charAt(i) == 'E')) {
            int j = i + 1;
            if (j < s.length() && (s.charAt(j) == '+' || s.charAt(j) == '-')) {
                j++;
            }
            if (j < s.length() && Character.isDigit(s.charAt(j))) {
                i = digitsEnd(s, j);
            }
        }
        return i;
    }

    private static int digitsEnd(String s, int i) {
        while (i < s.length() && Character.isDigit(s.charAt(i))) {
            i++;
        }
        return i;
    }
}
