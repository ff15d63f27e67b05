package ai.eapo.node;

import ai.eapo.verify.MathVerifier;
import ai.eapo.verify.Verdict;
import ai.eapo.verify.VerifierOptions;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.ConfigFactory;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code verify --in FILE.jsonl --out FILE.jsonl}: grades one JSON object per line holding {@code gold} and either
 * {@code pred} (a bare answer) or {@code response} (a whole model response), and writes each line back with
 * {@code reward}, {@code extracted}, {@code rule} and {@code reason}. Bad lines are reported on stderr with their
 * number and skipped; the exit code is 1 if there were any.
 */
@Command(name = "verify", mixinStandardHelpOptions = true,
        description = "Grade math answers against references (JSON lines with gold and pred or response).")
public final class VerifyCommand implements Callable<Integer> {

    static final int EXIT_BAD_LINES = 1;

    @Spec
    private CommandSpec spec;

    @Option(names = "--in", required = true, description = "Input JSON-lines file.")
    private Path in;

    @Option(names = "--out", required = true, description = "Output JSON-lines file.")
    private Path out;

    @Option(names = "--timeout-ms", description = "Time bound of one check (default: eapo.verifier.timeout-ms).")
    private Long timeoutMillis;

    @Option(names = "--no-last-number", description = "Do not fall back to the last number of a response.")
    private boolean noLastNumber;

    private final ObjectMapper json = new ObjectMapper();

    @Override
    public Integer call() throws IOException {
        MathVerifier verifier = new MathVerifier(options());
        PrintWriter err = spec.commandLine().getErr();
        int bad = 0;
        int good = 0;
        try (BufferedReader reader = Files.newBufferedReader(in, StandardCharsets.UTF_8);
             BufferedWriter writer = Files.newBufferedWriter(out, StandardCharsets.UTF_8)) {
            String line;
            int number = 0;
            while ((line = reader.readLine()) != null) {
                number++;
                if (line.isBlank()) {
                    continue;
                }
                try {
                    writer.write(json.writeValueAsString(grade(verifier, line)));
                    writer.newLine();
                    good++;
                } catch (JsonProcessingException e) { // malformed JSON or a BadLineException
                    bad++;
                    err.println("line " + number + ": " + e.getOriginalMessage());
                }
            }
        }
        err.printf("verified %d lines, %d bad%n", good, bad);
        err.flush();
        return bad == 0 ? 0 : EXIT_BAD_LINES;
    }

    private VerifierOptions options() {
        VerifierOptions o = VerifierOptions.fromConfig(ConfigFactory.load());
        if (timeoutMillis != null) {
            o = o.withTimeoutMillis(timeoutMillis);
        }
        return noLastNumber ? o.withFallbackToLastNumber(false) : o;
    }

    private ObjectNode grade(MathVerifier verifier, String line) throws JsonProcessingException {
        JsonNode node = json.readTree(line);
        if (!(node instanceof ObjectNode row)) {
            throw new BadLineException("not a JSON object");
        }
        String gold = text(row, "gold");
        if (gold == null) {
            throw new BadLineException("missing string field \"gold\"");
        }
        String pred = text(row, "pred");
        String response = text(row, "response");
        if ((pred == null) == (response == null)) {
            throw new BadLineException("need exactly one of \"pred\" or \"response\"");
        }
        Verdict v = pred != null ? verifier.verifyAnswer(pred, gold) : verifier.verify(response, gold);
        row.put("reward", v.reward());
        row.put("extracted", v.extracted());
        row.put("rule", v.rule().name());
        row.put("reason", v.reason());
        return row;
    }

    private static String text(ObjectNode row, String field) throws BadLineException {
        JsonNode value = row.get(field);
        if (value == null || value.isNull()) {
            return null;
        }
        if (!value.isValueNode()) {
            throw new BadLineException("field \"" + field + "\" is not a string or number");
        }
        return value.asText();
    }

    /** A line that is valid JSON but not a gradable record. */
    private static final class BadLineException extends JsonProcessingException {
        BadLineException(String message) {
            super(message);
        }
    }
}
