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
import ai.eapo.verify.MathNode.Relation;
import ai.eapo.verify.MathNode.Root;
import ai.eapo.verify.MathNode.SetOf;
import ai.eapo.verify.MathNode.Sum;
import ai.eapo.verify.MathNode.Sym;
import ai.eapo.verify.MathNode.Tuple;
import ai.eapo.verify.MathNode.Union;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/** What a comparison needs to know about a tree: its variables, and whether it holds decimals, infinity, i or ±. */
record NodeFacts(Set<String> variables, boolean decimal, boolean infinity, boolean imaginary, int plusMinusCount) {

    /** Walks the tree iteratively (no recursion, so no stack risk on deep trees). */
    static NodeFacts of(MathNode root, CheckBudget budget) {
        Set<String> vars = new TreeSet<>();
        boolean decimal = false;
        boolean infinity = false;
        boolean imaginary = false;
        int plusMinus = 0;
        Deque<MathNode> todo = new ArrayDeque<>();
        todo.push(root);
        while (!todo.isEmpty()) {
            budget.tick();
            MathNode n = todo.pop();
            if (n instanceof Sym s) {
                vars.add(s.name());
            } else if (n instanceof Num num) {
                decimal |= num.decimal();
            } else if (n instanceof Const c) {
                infinity |= c.constant() == Constant.INFINITY;
                imaginary |= c.constant() == Constant.I;
            } else if (n instanceof PlusMinus) {
                plusMinus++;
            }
            children(n).forEach(todo::push);
        }
        return new NodeFacts(vars, decimal, infinity, imaginary, plusMinus);
    }

    static List<MathNode> children(MathNode n) {
        if (n instanceof Sum s) {
            return s.terms();
        } else if (n instanceof Product p) {
            return p.factors();
        } else if (n instanceof Neg g) {
            return List.of(g.operand());
        } else if (n instanceof Quotient q) {
            return List.of(q.numerator(), q.denominator());
        } else if (n instanceof Power p) {
            return List.of(p.base(), p.exponent());
        } else if (n instanceof Root r) {
            return List.of(r.radicand(), r.index());
        } else if (n instanceof Func f) {
            return f.base() == null ? List.of(f.argument()) : List.of(f.argument(), f.base());
        } else if (n instanceof Factorial f) {
            return List.of(f.operand());
        } else if (n instanceof Binomial b) {
            return List.of(b.n(), b.k());
        } else if (n instanceof PlusMinus pm) {
            return List.of(pm.left(), pm.right());
        } else if (n instanceof Tuple t) {
            return t.items();
        } else if (n instanceof SetOf s) {
            return s.items();
        } else if (n instanceof Items i) {
            return i.items();
        } else if (n instanceof Union u) {
            return u.parts();
        } else if (n instanceof Relation r) {
            return r.operands();
        } else if (n instanceof Matrix m) {
            List<MathNode> all = new ArrayList<>();
            m.rows().forEach(all::addAll);
            return all;
        }
        return List.of();
    }
}
