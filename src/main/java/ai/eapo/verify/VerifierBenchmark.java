package ai.eapo.verify;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Predicate;

/**
 * Throughput of {@link MathVerifier} on a realistic mix, against a baseline measured in the same run: the same
 * extraction followed by plain normalised-string equality. Usage:
 * {@code VerifierBenchmark [shared-dir] [output.json] [seconds-per-measurement]}.
 */
public final class VerifierBenchmark {

    private static final String DEFAULT_SHARED = "../shared";
    private static final String DEFAULT_OUTPUT = "results/bench-verify.json";
    private static final double DEFAULT_SECONDS = 3.0;
    /** GSM8K rows taken into the mix, so that MATH-style answers dominate as in RL on competition math. */
    private static final int GSM8K_ROWS = 500;
    private static final double NANOS_PER_SECOND = 1e9;

    /** One graded pair; {@code expected} is known for the mix (gold solutions right, shuffled references wrong). */
    record Item(String response, String gold, boolean expected) {
    }

    private VerifierBenchmark() {
    }

    public static void main(String[] args) throws IOException {
        Path shared = Path.of(args.length > 0 ? args[0] : System.getProperty("eapo.shared", DEFAULT_SHARED));
        Path output = Path.of(args.length > 1 ? args[1] : DEFAULT_OUTPUT);
        double seconds = args.length > 2 ? Double.parseDouble(args[2]) : DEFAULT_SECONDS;
        List<Item> mix = mix(shared.resolve("data"));

        MathVerifier verifier = new MathVerifier();
        AnswerExtractor extractor = new AnswerExtractor(verifier.options().fallbackToLastNumber());
        LatexNormalizer normalizer = new LatexNormalizer();
        Predicate<Item> full = item -> verifier.verify(item.response(), item.gold()).correct();
        Predicate<Item> baseline = item -> {
            Extraction e = extractor.extract(item.response());
            return e.found() && compact(normalizer.normalize(e.text()).text())
                    .equals(compact(normalizer.normalize(item.gold()).text()));
        };

        Measurement base = measure(mix, baseline, seconds);
        Measurement verify = measure(mix, full, seconds);
        double ratio = verify.checksPerSecond() / base.checksPerSecond();

        System.out.printf(Locale.ROOT, "mix: %d checks (%d expected correct)%n", mix.size(),
                mix.stream().filter(Item::expected).count());
        System.out.printf(Locale.ROOT, "baseline (extract + normalised string equality): %.0f checks/s, accuracy %.4f%n",
                base.checksPerSecond(), base.accuracy());
        System.out.printf(Locale.ROOT, "MathVerifier: %.0f checks/s, accuracy %.4f, slowest check %.1f ms%n",
                verify.checksPerSecond(), verify.accuracy(), verify.slowestMillis());
        System.out.printf(Locale.ROOT, "speed ratio verifier/baseline: %.3f%n", ratio);

        ObjectMapper json = new ObjectMapper();
        ObjectNode out = json.createObjectNode();
        out.put("mix", "MATH-500 solutions vs own answer (right) and next problem's answer (wrong); "
                + "GSM8K solutions vs N (right) and N+1 (wrong); accuracy is agreement with those labels");
        out.put("checks_in_mix", mix.size());
        out.put("threads", 1);
        out.put("verifier_checks_per_second", verify.checksPerSecond());
        out.put("verifier_accuracy_on_mix", verify.accuracy());
        out.put("verifier_slowest_check_ms", verify.slowestMillis());
        out.put("baseline", "same extraction + normalised string equality");
        out.put("baseline_checks_per_second", base.checksPerSecond());
        out.put("baseline_accuracy_on_mix", base.accuracy());
        out.put("speed_ratio_verifier_over_baseline", ratio);
        if (output.getParent() != null) {
            Files.createDirectories(output.getParent());
        }
        json.writerWithDefaultPrettyPrinter().writeValue(output.toFile(), out);
        System.out.println("wrote " + output);
    }

    private static String compact(String s) {
        return s.replace(" ", "");
    }

    /**
     * MATH-500 solutions with their answers (right), with the next problem's answer (wrong), GSM8K solutions with
     * their numbers (right) and with the number plus one (wrong).
     */
    static List<Item> mix(Path data) throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<JsonNode> math = new ArrayList<>();
        for (String line : Files.readAllLines(data.resolve("math500-test.jsonl"))) {
            math.add(json.readTree(line));
        }
        List<Item> mix = new ArrayList<>();
        for (int i = 0; i < math.size(); i++) {
            String solution = math.get(i).get("solution").asText();
            String answer = math.get(i).get("answer").asText();
            String other = math.get((i + 1) % math.size()).get("answer").asText();
            mix.add(new Item(solution, answer, true));
            if (!other.equals(answer)) {
                mix.add(new Item(solution, other, false));
            }
        }
        List<String> gsm = Files.readAllLines(data.resolve("gsm8k-test.jsonl"));
        for (String line : gsm.subList(0, Math.min(GSM8K_ROWS, gsm.size()))) {
            String answer = json.readTree(line).get("answer").asText();
            String number = AnswerExtractor.afterLastGsm8kMark(answer).replace(",", "");
            mix.add(new Item(answer, number, true));
            mix.add(new Item(answer, new java.math.BigDecimal(number).add(java.math.BigDecimal.ONE).toPlainString(), false));
        }
        return mix;
    }

    record Measurement(double checksPerSecond, double accuracy, double slowestMillis) {
    }

    /** Warms up for one pass, then repeats whole passes over the mix until {@code seconds} have elapsed. */
    private static Measurement measure(List<Item> mix, Predicate<Item> check, double seconds) {
        int agreed = 0;
        for (Item item : mix) {
            if (check.test(item) == item.expected()) {
                agreed++;
            }
        }
        long budget = (long) (seconds * NANOS_PER_SECOND);
        long start = System.nanoTime();
        long checks = 0;
        long slowest = 0;
        while (System.nanoTime() - start < budget) {
            for (Item item : mix) {
                long t = System.nanoTime();
                check.test(item);
                slowest = Math.max(slowest, System.nanoTime() - t);
            }
            checks += mix.size();
        }
        double elapsed = (System.nanoTime() - start) / NANOS_PER_SECOND;
        return new Measurement(checks / elapsed, (double) agreed / mix.size(), slowest / 1e6);
    }
}
