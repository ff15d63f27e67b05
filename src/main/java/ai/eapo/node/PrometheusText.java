package ai.eapo.node;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads Prometheus' text exposition format (version 0.0.4): the samples of a {@code /metrics} page, for
 * {@code ctl watch}. A line that is neither a comment, blank, nor {@code name{labels} value [timestamp]} is an
 * error naming the line.
 */
record PrometheusText(List<Sample> samples) {

    /** One sample: the series' name, its labels in order, its value. */
    record Sample(String name, Map<String, String> labels, double value) {
    }

    private static final Pattern SAMPLE = Pattern.compile(
            "([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{(.*)})? ([^ ]+)(?: -?\\d+)?");
    private static final Pattern LABEL = Pattern.compile(
            "\\s*([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"\\s*(,|$)");
    private static final Pattern COMMENT = Pattern.compile("# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .*|#.*");

    static PrometheusText parse(String page) {
        List<Sample> samples = new ArrayList<>();
        String[] lines = page.split("\n");
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            if (line.isBlank() || COMMENT.matcher(line).matches()) {
                continue;
            }
            Matcher m = SAMPLE.matcher(line);
            if (!m.matches()) {
                throw new IllegalArgumentException("metrics line " + (i + 1) + " is not a sample: " + line);
            }
            samples.add(new Sample(m.group(1), labels(m.group(2), i + 1), value(m.group(3), i + 1)));
        }
        return new PrometheusText(samples);
    }

    private static Map<String, String> labels(String text, int line) {
        Map<String, String> labels = new LinkedHashMap<>();
        if (text == null || text.isEmpty()) {
            return labels;
        }
        Matcher m = LABEL.matcher(text);
        int at = 0;
        while (at < text.length()) {
            if (!m.find(at) || m.start() != at) {
                throw new IllegalArgumentException("metrics line " + line + ": bad labels {" + text + "}");
            }
            labels.put(m.group(1), m.group(2).replace("\\\"", "\"").replace("\\n", "\n").replace("\\\\", "\\"));
            at = m.end();
        }
        return labels;
    }

    private static double value(String text, int line) {
        return switch (text) {
            case "+Inf" -> Double.POSITIVE_INFINITY;
            case "-Inf" -> Double.NEGATIVE_INFINITY;
            case "NaN" -> Double.NaN;
            default -> {
                try {
                    yield Double.parseDouble(text);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("metrics line " + line + ": value " + text + " is not a number");
                }
            }
        };
    }

    /** The value of the series {@code name} with every label of {@code labels}; NaN when there is none. */
    double value(String name, Map<String, String> labels) {
        return samples.stream().filter(s -> s.name().equals(name)
                        && s.labels().entrySet().containsAll(labels.entrySet()))
                .mapToDouble(Sample::value).findFirst().orElse(Double.NaN);
    }

    /** The sum over the series {@code name} with every label of {@code labels}; NaN when there is none. */
    double sum(String name, Map<String, String> labels) {
        List<Sample> matching = samples.stream().filter(s -> s.name().equals(name)
                && s.labels().entrySet().containsAll(labels.entrySet())).toList();
        return matching.isEmpty() ? Double.NaN : matching.stream().mapToDouble(Sample::value).sum();
    }
}
