package ai.eapo.verify;

import ai.eapo.verify.MathNode.Binomial;
import ai.eapo.verify.MathNode.Const;
import ai.eapo.verify.MathNode.Constant;
import ai.eapo.verify.MathNode.Factorial;
import ai.eapo.verify.MathNode.Func;
import ai.eapo.verify.MathNode.Items;
import ai.eapo.verify.MathNode.Matrix;
import ai.eapo.verify.MathNode.Neg;
import ai.eapo.verify.MathNode.Num;
import ai.eapo.verify.MathNode.PlusMinus;
import ai.eapo.verify.MathNode.Power;
import ai.eapo.verify.MathNode.Product;
import ai.eapo.verify.MathNode.Quotient;
import ai.eapo.verify.MathNode.RelOp;
import ai.eapo.verify.MathNode.Relation;
import ai.eapo.verify.MathNode.Root;
import ai.eapo.verify.MathNode.SetOf;
import ai.eapo.verify.MathNode.Sum;
import ai.eapo.verify.MathNode.Sym;
import ai.eapo.verify.MathNode.Tuple;
import ai.eapo.verify.MathNode.Union;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Recursive-descent parser of normalised answers into {@link MathNode}s. Precedence, loosest first: comma list,
 * union, relation, sum, product (explicit or implicit), unary sign, power, postfix ({@code !}, subscripts).
 * Nesting is bounded by {@link CheckBudget#enter(int)}, so hostile inputs cannot overflow the stack.
 */
final class MathParser {

    private static final Set<String> FUNCTIONS = Set.of("sin", "cos", "tan", "cot", "sec", "csc", "arcsin",
            "arccos", "arctan", "sinh", "cosh", "tanh", "ln", "log", "exp");
    /** Function names a model may type without a backslash; matched greedily on letter runs. */
    private static final List<String> PLAIN_WORDS = List.of("sqrt", "sin", "cos", "tan", "log", "ln", "exp", "pi");
    private static final Set<String> GREEK = Set.of("alpha", "beta", "gamma", "delta", "epsilon", "varepsilon",
            "zeta", "eta", "theta", "vartheta", "iota", "kappa", "lambda", "mu", "nu", "xi", "rho", "sigma", "tau",
            "upsilon", "phi", "varphi", "chi", "psi", "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Sigma",
            "Phi", "Psi", "Omega");
    private static final Set<String> MATRIX_ENVIRONMENTS = Set.of("pmatrix", "bmatrix", "matrix", "smallmatrix",
            "array", "Bmatrix", "vmatrix");
    /** Decorations that do not change the value they wrap. */
    private static final Set<String> TRANSPARENT = Set.of("overline", "hat", "vec", "bar", "mathbf", "bm",
            "boldsymbol", "mathit", "mathrm", "text", "textbf");
    private static final Map<String, RelOp> RELATION_COMMANDS = Map.of("le", RelOp.LE, "leq", RelOp.LE,
            "ge", RelOp.GE, "geq", RelOp.GE, "lt", RelOp.LT, "gt", RelOp.GT, "ne", RelOp.NE, "neq", RelOp.NE,
            "in", RelOp.IN, "approx", RelOp.EQ);
    private static final int MAX_NUMBER_BASE = 36;
    private static final int MIN_NUMBER_BASE = 2;

    private final List<Token> tokens;
    private final CheckBudget budget;
    private int pos;
    private int depth;

    private MathParser(List<Token> tokens, CheckBudget budget) {
        this.tokens = new ArrayList<>(tokens);
        this.budget = budget;
    }

    static MathNode parse(String normalized, CheckBudget budget) {
        MathParser p = new MathParser(Tokenizer.tokenize(normalized, budget), budget);
        if (p.tokens.isEmpty()) {
            throw new MathSyntaxException("empty answer");
        }
        MathNode node = p.list();
        if (p.peek().kind() != Token.Kind.END) {
            throw new MathSyntaxException("unexpected '" + p.peek().text() + "'");
        }
        return node;
    }

    // ---- token helpers

    private Token peek() {
        return pos < tokens.size() ? tokens.get(pos) : Token.END;
    }

    private Token next() {
        budget.tick();
        return pos < tokens.size() ? tokens.get(pos++) : Token.END;
    }

    private boolean acceptSymbol(String s) {
        if (peek().isSymbol(s)) {
            pos++;
            return true;
        }
        return false;
    }

    private boolean acceptCommand(String s) {
        if (peek().isCommand(s)) {
            pos++;
            return true;
        }
        return false;
    }

    private void expectSymbol(String s) {
        if (!acceptSymbol(s)) {
            throw new MathSyntaxException("expected '" + s + "' but found '" + peek().text() + "'");
        }
    }

    private void enter() {
        budget.enter(++depth);
    }

    private void leave() {
        depth--;
    }

    // ---- grammar

    private MathNode list() {
        List<MathNode> items = commaSeparated();
        return items.size() == 1 ? items.get(0) : new Items(items);
    }

    private List<MathNode> commaSeparated() {
        List<MathNode> items = new ArrayList<>();
        items.add(union());
        while (acceptSymbol(",")) {
            items.add(union());
        }
        return items;
    }

    private MathNode union() {
        List<MathNode> parts = new ArrayList<>();
        parts.add(relation());
        while (acceptCommand("cup")) {
            parts.add(relation());
        }
        return parts.size() == 1 ? parts.get(0) : new Union(parts);
    }

    private MathNode relation() {
        List<MathNode> operands = new ArrayList<>();
        List<RelOp> ops = new ArrayList<>();
        operands.add(sum());
        RelOp op;
        while ((op = relationOperator()) != null) {
            ops.add(op);
            operands.add(sum());
        }
        return ops.isEmpty() ? operands.get(0) : new Relation(operands, ops);
    }

    private RelOp relationOperator() {
        Token t = peek();
        if (t.kind() == Token.Kind.COMMAND && RELATION_COMMANDS.containsKey(t.text())) {
            pos++;
            return RELATION_COMMANDS.get(t.text());
        }
        if (acceptSymbol("=")) {
            return RelOp.EQ;
        }
        if (acceptSymbol("<")) {
            return acceptSymbol("=") ? RelOp.LE : RelOp.LT;
        }
        if (acceptSymbol(">")) {
            return acceptSymbol("=") ? RelOp.GE : RelOp.GT;
        }
        return null;
    }

    private MathNode sum() {
        List<MathNode> terms = new ArrayList<>();
        terms.add(term());
        while (true) {
            if (acceptSymbol("+")) {
                terms.add(term());
            } else if (acceptSymbol("-")) {
                terms.add(new Neg(term()));
            } else if (acceptCommand("pm") || acceptCommand("mp")) {
                MathNode left = terms.size() == 1 ? terms.get(0) : new Sum(terms);
                terms = new ArrayList<>();
                terms.add(new PlusMinus(left, term()));
            } else {
                return terms.size() == 1 ? terms.get(0) : new Sum(terms);
            }
        }
    }

    private MathNode term() {
        List<MathNode> factors = new ArrayList<>();
        int divisions = 0;
        factors.add(unary());
        while (true) {
            budget.tick();
            if (acceptSymbol("*") || acceptCommand("cdot") || acceptCommand("times")) {
                factors.add(unary());
            } else if (acceptSymbol("/") || acceptCommand("div") || acceptSymbol(":")) {
                // a ratio a:b is the quotient a/b, as in math-verify ("V_1:V_2 = 11:21" has the value 11/21)
                // each division nests the product so far one level deeper: count it against the depth bound
                budget.enter(depth + ++divisions);
                MathNode numerator = factors.size() == 1 ? factors.get(0) : new Product(factors);
                factors = new ArrayList<>();
                factors.add(new Quotient(numerator, unary()));
            } else if (startsImplicitFactor(peek())) {
                factors.add(power());
            } else {
                return factors.size() == 1 ? factors.get(0) : new Product(factors);
            }
        }
    }

    private MathNode unary() {
        boolean negative = false;
        while (true) {
            if (acceptSymbol("-")) {
                negative = !negative;
            } else if (!acceptSymbol("+")) {
                break;
            }
            budget.tick();
        }
        MathNode operand = power();
        return negative ? new Neg(operand) : operand;
    }

    private MathNode power() {
        MathNode base = postfix();
        if (!acceptSymbol("^")) {
            return base;
        }
        enter();
        try {
            return postfixFactorial(new Power(base, exponent()));
        } finally {
            leave();
        }
    }

    private MathNode exponent() {
        if (peek().isSymbol("{")) {
            return braced();
        }
        boolean negative = false;
        while (acceptSymbol("-")) {
            negative = !negative;
        }
        MathNode e = power();
        return negative ? new Neg(e) : e;
    }

    private MathNode postfixFactorial(MathNode node) {
        while (acceptSymbol("!")) {
            node = new Factorial(node);
        }
        return node;
    }

    private MathNode postfix() {
        MathNode node = primary();
        while (true) {
            if (acceptSymbol("!")) {
                node = new Factorial(node);
            } else if (acceptSymbol("_")) {
                node = subscripted(node, subscriptText());
            } else if (acceptSymbol("'") || acceptCommand("prime")) {
                node = node instanceof Sym s ? new Sym(s.name() + "'") : new Func("prime", node, null);
            } else {
                return node;
            }
        }
    }

    private String subscriptText() {
        if (peek().isSymbol("{")) {
            int close = findClosingBrace();
            StringBuilder sb = new StringBuilder();
            for (int i = pos + 1; i < close; i++) {
                sb.append(tokens.get(i).text());
            }
            pos = close + 1;
            return sb.toString();
        }
        return next().text();
    }

    private int findClosingBrace() {
        int level = 0;
        for (int i = pos; i < tokens.size(); i++) {
            budget.tick();
            if (tokens.get(i).isSymbol("{")) {
                level++;
            } else if (tokens.get(i).isSymbol("}") && --level == 0) {
                return i;
            }
        }
        throw new MathSyntaxException("unbalanced braces");
    }

    /** {@code x_1} becomes the symbol "x_1"; {@code 101_2} is read in base 2. */
    private static MathNode subscripted(MathNode node, String subscript) {
        if (node instanceof Sym s) {
            return new Sym(s.name() + "_" + subscript);
        }
        if (node instanceof Num n && !n.decimal() && subscript.chars().allMatch(Character::isDigit)
                && subscript.length() <= 2) {
            int base = Integer.parseInt(subscript);
            if (base >= MIN_NUMBER_BASE && base <= MAX_NUMBER_BASE) {
                try {
                    return new Num(new BigDecimal(new BigInteger(n.value().toPlainString(), base)), false);
                } catch (NumberFormatException e) {
                    throw new MathSyntaxException("digits not valid in base " + base);
                }
            }
        }
        throw new MathSyntaxException("unsupported subscript");
    }

    private boolean startsImplicitFactor(Token t) {
        return switch (t.kind()) {
            case NUMBER, LETTER -> true;
            case SYMBOL -> t.text().equals("(");
            case COMMAND -> t.text().equals("frac") || t.text().equals("sqrt") || t.text().equals("pi")
                    || t.text().equals("infty") || t.text().equals("binom") || t.text().equals("begin")
                    || t.text().equals("lfloor") || t.text().equals("lceil") || FUNCTIONS.contains(t.text())
                    || GREEK.contains(t.text()) || TRANSPARENT.contains(t.text());
            case END -> false;
        };
    }

    private MathNode primary() {
        enter();
        try {
            Token t = next();
            return switch (t.kind()) {
                case NUMBER -> number(t.text());
                case LETTER -> letters(t.text());
                case SYMBOL -> bracketed(t.text());
                case COMMAND -> command(t.text());
                case END -> throw new MathSyntaxException("unexpected end");
            };
        } finally {
            leave();
        }
    }

    private static Num number(String text) {
        try {
            BigDecimal value = new BigDecimal(text.startsWith(".") ? "0" + text : text);
            return new Num(value, text.indexOf('.') >= 0 || text.indexOf('e') >= 0 || text.indexOf('E') >= 0);
        } catch (NumberFormatException e) {
            throw new MathSyntaxException("bad number " + text);
        }
    }

    /** A letter, or a plain-text word such as {@code sqrt} or {@code pi} spelled by this and following letters. */
    private MathNode letters(String first) {
        for (String word : PLAIN_WORDS) {
            if (lettersAhead(first, word)) {
                pos += word.length() - 1;
                return word.equals("pi") ? new Const(Constant.PI)
                        : word.equals("sqrt") ? new Root(functionArgument(), new Num(BigDecimal.valueOf(2), false))
                        : function(word);
            }
        }
        // e is Euler's number and i the imaginary unit, as in math-verify's sympy parsing
        return first.equals("e") ? new Const(Constant.E) : first.equals("i") ? new Const(Constant.I) : new Sym(first);
    }

    private boolean lettersAhead(String first, String word) {
        if (!word.startsWith(first) || pos + word.length() - 1 > tokens.size()) {
            return false;
        }
        for (int i = 1; i < word.length(); i++) {
            if (!tokens.get(pos + i - 1).is(Token.Kind.LETTER, String.valueOf(word.charAt(i)))) {
                return false;
            }
        }
        return true;
    }

    private MathNode bracketed(String open) {
        switch (open) {
            case "(", "[" -> {
                List<MathNode> items = commaSeparated();
                Token close = next();
                if (!close.isSymbol(")") && !close.isSymbol("]")) {
                    throw new MathSyntaxException("unclosed " + open);
                }
                if (items.size() == 1 && (open + close.text()).matches("\\(\\)|\\[\\]")) {
                    return items.get(0);
                }
                return new Tuple(items, open.charAt(0), close.text().charAt(0));
            }
            case "{" -> {
                pos--;
                return braced();
            }
            case "|" -> {
                MathNode inner = sum();
                expectSymbol("|");
                return new Func("abs", inner, null);
            }
            default -> throw new MathSyntaxException("unexpected '" + open + "'");
        }
    }

    /** {@code {...}}: a group, or a set when it holds a comma list. */
    private MathNode braced() {
        expectSymbol("{");
        enter();
        try {
            if (acceptSymbol("}")) {
                return new SetOf(List.of());
            }
            List<MathNode> items = commaSeparated();
            expectSymbol("}");
            return items.size() == 1 ? items.get(0) : new SetOf(items);
        } finally {
            leave();
        }
    }

    private MathNode command(String name) {
        if (FUNCTIONS.contains(name)) {
            return function(name);
        }
        if (GREEK.contains(name)) {
            return new Sym(name);
        }
        if (TRANSPARENT.contains(name)) {
            return argument();
        }
        return switch (name) {
            case "frac" -> new Quotient(argument(), argument());
            case "sqrt" -> {
                MathNode index = new Num(BigDecimal.valueOf(2), false);
                if (acceptSymbol("[")) {
                    index = sum();
                    expectSymbol("]");
                }
                yield new Root(argument(), index);
            }
            case "binom" -> new Binomial(argument(), argument());
            case "pi" -> new Const(Constant.PI);
            case "infty" -> new Const(Constant.INFINITY);
            case "{" -> braceSet();
            case "|", "vert", "lvert", "mid" -> absolute(name.equals("lvert") ? "rvert" : name);
            case "lfloor" -> closedFunction("floor", "rfloor");
            case "lceil" -> closedFunction("ceil", "rceil");
            case "begin" -> matrix();
            case "mathbb" -> realLine();
            default -> throw new MathSyntaxException("unsupported command \\" + name);
        };
    }

    private MathNode absolute(String closing) {
        MathNode inner = sum();
        if (!acceptCommand(closing)) {
            throw new MathSyntaxException("unclosed |");
        }
        return new Func("abs", inner, null);
    }

    private MathNode closedFunction(String function, String closing) {
        MathNode inner = sum();
        if (!acceptCommand(closing)) {
            throw new MathSyntaxException("unclosed \\" + closing);
        }
        return new Func(function, inner, null);
    }

    /** {@code \mathbb{R}} is the interval of all reals; other blackboard letters are not supported. */
    private MathNode realLine() {
        expectSymbol("{");
        if (!next().is(Token.Kind.LETTER, "R")) {
            throw new MathSyntaxException("unsupported \\mathbb");
        }
        expectSymbol("}");
        Const inf = new Const(Constant.INFINITY);
        return new Tuple(List.of(new Neg(inf), inf), '(', ')');
    }

    private MathNode braceSet() {
        enter();
        try {
            if (acceptCommand("}")) {
                return new SetOf(List.of());
            }
            List<MathNode> items = commaSeparated();
            if (!acceptCommand("}")) {
                throw new MathSyntaxException("unclosed \\{");
            }
            return new SetOf(items);
        } finally {
            leave();
        }
    }

    /** A command argument: a braced group, or a single character as in {@code \frac12}. */
    private MathNode argument() {
        if (peek().isSymbol("{")) {
            return braced();
        }
        Token t = peek();
        if (t.kind() == Token.Kind.NUMBER && t.text().length() > 1) {
            tokens.set(pos, new Token(Token.Kind.NUMBER, t.text().substring(1)));
            return number(t.text().substring(0, 1));
        }
        return primary();
    }

    /** {@code \sin^2 x}, {@code \log_2 8}, {@code \sin(x)}. */
    private MathNode function(String name) {
        MathNode base = null;
        if (name.equals("log") && acceptSymbol("_")) {
            base = argument();
        }
        MathNode power = null;
        if (acceptSymbol("^")) {
            power = argument();
        }
        MathNode f = new Func(name, functionArgument(), base);
        return power == null ? f : new Power(f, power);
    }

    private MathNode functionArgument() {
        if (peek().isSymbol("{")) {
            return braced();
        }
        return power();
    }

    private MathNode matrix() {
        String env = environmentName();
        if (!MATRIX_ENVIRONMENTS.contains(env)) {
            throw new MathSyntaxException("unsupported environment " + env);
        }
        if (env.equals("array") && peek().isSymbol("{")) {
            pos = findClosingBrace() + 1; // column specification such as {cc}
        }
        List<List<MathNode>> rows = new ArrayList<>();
        List<MathNode> row = new ArrayList<>();
        while (true) {
            budget.tick();
            if (acceptCommand("end")) {
                environmentName();
                if (!row.isEmpty()) {
                    rows.add(row);
                }
                break;
            }
            row.add(union());
            if (acceptCommand("cr")) {
                rows.add(row);
                row = new ArrayList<>();
            } else if (!acceptSymbol("&") && !peek().isCommand("end")) {
                throw new MathSyntaxException("bad matrix cell");
            }
        }
        if (rows.isEmpty() || rows.stream().anyMatch(r -> r.size() != rows.get(0).size())) {
            throw new MathSyntaxException("ragged matrix");
        }
        return new Matrix(rows);
    }

    private String environmentName() {
        expectSymbol("{");
        StringBuilder sb = new StringBuilder();
        while (!peek().isSymbol("}")) {
            Token t = next();
            if (t.kind() == Token.Kind.END) {
                throw new MathSyntaxException("unclosed environment name");
            }
            sb.append(t.text());
        }
        pos++;
        return sb.toString();
    }
}
