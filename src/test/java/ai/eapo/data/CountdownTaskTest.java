package ai.eapo.data;

import ai.eapo.verify.CountdownVerifier;
import ai.eapo.verify.VerifierOptions;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CountdownTaskTest {

    @Test
    void legalMovesWriteTheLargerFirstAndStayWholeAndInRange() {
        List<CountdownTask.Move> moves = CountdownTask.legalMoves(List.of(6, 3));
        assertEquals(List.of("6+3=9.", "6-3=3.", "6*3=18.", "6/3=2."), moves.stream().map(Object::toString).toList());
        // 7 and 7: no zero (7-7), 7/7 = 1 is whole; 9 and 2: 9/2 is not
        assertEquals(List.of("7+7=14.", "7*7=49.", "7/7=1."), CountdownTask.legalMoves(List.of(7, 7)).stream().map(Object::toString).toList());
        assertEquals(List.of("9+2=11.", "9-2=7.", "9*2=18."), CountdownTask.legalMoves(List.of(2, 9)).stream().map(Object::toString).toList());
        // 60 and 50: the product passes MAX_VALUE
        assertTrue(CountdownTask.legalMoves(List.of(60, 50)).stream().noneMatch(m -> m.result() > CountdownTask.MAX_VALUE));
    }

    @Test
    void everyGeneratedSolutionIsRightByTheVerifierAndProblemsAreSeeded() {
        CountdownVerifier verifier = new CountdownVerifier(VerifierOptions.defaults());
        List<SyntheticMathTask.Problem> problems = CountdownTask.generate(7, 400, Set.of(), true);
        int[] perLevel = new int[CountdownTask.MAX_NUMBERS + 1];
        for (SyntheticMathTask.Problem p : problems) {
            assertTrue(verifier.verify(p.solution(), p.answer()).correct(), p + ": " + verifier.verify(p.solution(), p.answer()).reason());
            perLevel[p.level()]++;
            // the prompt names the reference's numbers and target
            String[] ref = p.answer().split(" from ");
            assertEquals(CountdownTask.prompt(java.util.Arrays.stream(ref[1].split(",")).map(Integer::valueOf).toList(),
                    Integer.parseInt(ref[0])), p.prompt());
        }
        assertEquals(200, perLevel[3]);
        assertEquals(200, perLevel[4]);
        assertEquals(problems, CountdownTask.generate(7, 400, Set.of(), true));
        assertNotEquals(problems, CountdownTask.generate(8, 400, Set.of(), true));
        assertEquals(400, new HashSet<>(problems.stream().map(SyntheticMathTask.Problem::prompt).toList()).size());
    }

    @Test
    void movesAreDrawnUniformlyAmongTheLegalOnes() {
        // numbers 6 3 4: the first move is one of the legal moves on them, each about equally often
        List<CountdownTask.Move> legal = CountdownTask.legalMoves(List.of(6, 3, 4));
        java.util.Map<String, Integer> firstMoves = new java.util.HashMap<>();
        Random random = new Random(1);
        for (int i = 0; i < 20_000; i++) {
            List<CountdownTask.Move> trace = CountdownTask.randomTrace(List.of(6, 3, 4), random);
            assertEquals(2, trace.size());
            firstMoves.merge(trace.get(0).toString(), 1, Integer::sum);
        }
        assertEquals(legal.size(), firstMoves.size(), firstMoves.toString());
        double expected = 20_000.0 / legal.size();
        for (int count : firstMoves.values()) {
            assertEquals(expected, count, expected * 0.15, firstMoves.toString());
        }
    }

    @Test
    void noTrainingPromptIsAHeldOutOne() throws Exception {
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("countdown");
        CountdownTask.writeSplits(dir, 2000, 1, 200, 2);
        Set<String> test = new HashSet<>();
        for (ProblemSet.Problem p : ProblemSet.read(dir.resolve("test.jsonl"))) {
            test.add(p.prompt());
            assertTrue(p.answer().contains(" from "), p.answer());
        }
        List<ProblemSet.Problem> train = new ArrayList<>(ProblemSet.read(dir.resolve("train.jsonl")));
        assertEquals(2000, train.size());
        assertTrue(train.stream().noneMatch(p -> test.contains(p.prompt())));
    }
}
