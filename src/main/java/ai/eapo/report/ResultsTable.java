package ai.eapo.report;

import ai.eapo.UserInputException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;

/**
 * The results table of a set of training runs (issue #7): every run directory {@code SETTING-sSEED} under one
 * directory, grouped by setting, summarised as mean ± sample standard deviation over seeds, in {@code summary.md},
 * {@code summary.json} and PNG charts per figure (held-out accuracy by step and by generated tokens, resampled ratio
 * and accuracy of experience responses by step, each the mean over seeds).
 *
 * <p>Held-out accuracy measured after learner step s (0-based) belongs to point s + 1: point 0 is the model before
 * training. A run counts only once its summary.json has {@code heldout_accuracy_after}, i.e. it finished.
 */
public final class ResultsTable {

    static final String SUMMARY = "summary.json";
    static final String METRICS = "metrics.jsonl";
    /** The level name standing for every held-out problem in the reach table. */
    static final String ALL_LEVELS = "all";
    /** Accuracies are ratios of counts: a mean over seeds equal to a run's value may differ in the last bits. */
    private static final double REACH_TOLERANCE = 1e-9;
    private static final Pattern RUN_DIRECTORY = Pattern.compile("(.+)-s(\\d+)");
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A chart group: the settings compared in one figure, in drawing order. */
    public record Figure(String name, List<String> settings) {
        /** Parses {@code NAME=setting,setting,...}. */
        public static Figure parse(String spec) {
            int eq = spec.indexOf('=');
            if (eq <= 0 || eq == spec.length() - 1) {
                throw new UserInputException("figure '" + spec + "': expected NAME=setting,setting,...");
            }
            return new Figure(spec.substring(0, eq).strip(),
                    List.of(spec.substring(eq + 1).split(",")).stream().map(String::strip).toList());
        }
    }

    /** A paired comparison: setting {@code a} minus setting {@code b}, seed by seed. */
    public record Difference(String name, String a, String b) {
        /** Parses {@code NAME=a,b}. */
        public static Difference parse(String spec) {
            Figure f = Figure.parse(spec);
            if (f.settings().size() != 2) {
                throw new UserInputException("difference '" + spec + "': expected NAME=a,b (a minus b)");
            }
            return new Difference(f.name(), f.settings().get(0), f.settings().get(1));
        }
    }

    /** One finished run: its held-out curve and generated-token count by point, and its per-step metrics lines. */
    record Run(String setting, int seed, TreeMap<Integer, Double> heldout, TreeMap<Integer, Long> tokensAt,
               List<JsonNode> steps, JsonNode summary) {

        /**
         * Held-out accuracy by point on the problems of {@code level}, or on all problems for {@link #ALL_LEVELS}:
         * the points where the run measured that level.
         */
        TreeMap<Integer, Double> curve(String level) {
            if (level.equals(ALL_LEVELS)) {
                return heldout;
            }
            TreeMap<Integer, Double> curve = new TreeMap<>();
            putLevel(curve, 0, summary.path("heldout_accuracy_by_level_before"), level);
            for (JsonNode step : steps) {
                putLevel(curve, step.path("step").asInt() + 1, step.path("heldout_accuracy_by_level"), level);
            }
            putLevel(curve, heldout.lastKey(), summary.path("heldout_accuracy_by_level_after"), level);
            curve.keySet().retainAll(heldout.keySet()); // the points whose generated tokens are known
            return curve;
        }

        private static void putLevel(TreeMap<Integer, Double> curve, int point, JsonNode byLevel, String level) {
            if (byLevel.path(level).isNumber()) {
                curve.put(point, byLevel.get(level).asDouble());
            }
        }

        /** The first held-out point at which {@code level} reaches {@code target}; empty if it never does. */
        Optional<Integer> firstReaching(String level, double target) {
            return curve(level).entrySet().stream().filter(e -> e.getValue() >= target - REACH_TOLERANCE)
                    .map(Map.Entry::getKey).findFirst();
        }

        /** Held-out accuracy of the problems of {@code level} before ({@code after} false) or after training; NaN if unknown. */
        double levelAccuracy(String level, boolean after) {
            JsonNode byLevel = summary.path(after ? "heldout_accuracy_by_level_after" : "heldout_accuracy_by_level_before");
            return byLevel.path(level).isNumber() ? byLevel.get(level).asDouble() : Double.NaN;
        }

        /** The levels this run's held-out problems had. */
        List<String> levels() {
            List<String> levels = new ArrayList<>();
            summary.path("heldout_accuracy_by_level_after").fieldNames().forEachRemaining(levels::add);
            return levels;
        }

        /** Mean over the steps where {@code key} has a value; empty when none has. */
        OptionalDouble stepMean(String key) {
            return steps.stream().map(s -> s.get(key)).filter(v -> v != null && v.isNumber())
                    .mapToDouble(JsonNode::asDouble).average();
        }

        /** {@code key} at each step, NaN where it has no value. */
        double[] byStep(String key) {
            return steps.stream().map(s -> s.get(key))
                    .mapToDouble(v -> v != null && v.isNumber() ? v.asDouble() : Double.NaN).toArray();
        }

        /**
         * Mean over the steps of the share of groups with learning signal (not all rewards equal), among the groups
         * that carry experience responses ({@code experience}) or among the others; empty where no step had such groups.
         */
        OptionalDouble signalShare(boolean experience) {
            return steps.stream().mapToDouble(s -> {
                double groups = s.path("groups").asDouble(Double.NaN);
                double uniform = s.path("uniform_groups").asDouble(Double.NaN);
                double ea = s.path("ea_groups").asDouble(Double.NaN);
                double eaUniform = s.path("ea_uniform_groups").asDouble(Double.NaN);
                double of = experience ? ea : groups - ea;
                double without = experience ? eaUniform : uniform - eaUniform;
                return of > 0 ? 1 - without / of : Double.NaN;
            }).filter(Double::isFinite).average();
        }

        /** Held-out accuracy after {@code tokens} generated tokens, linear between points; NaN past the last. */
        double heldoutAtTokens(long tokens) {
            Integer before = null;
            for (int p : heldout.keySet()) {
                long at = tokensAt.get(p);
                if (at == tokens) {
                    return heldout.get(p);
                }
                if (at > tokens) {
                    if (before == null) {
                        return Double.NaN;
                    }
                    long from = tokensAt.get(before);
                    double share = (double) (tokens - from) / (at - from);
                    return heldout.get(before) + share * (heldout.get(p) - heldout.get(before));
                }
                before = p;
            }
            return Double.NaN;
        }

        double best() {
            return heldout.values().stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
        }

        /** Mean wall seconds per learner step: generated tokens over tokens per second, step by step. */
        OptionalDouble secondsPerStep() {
            return steps.stream().filter(s -> s.path("tokens_per_s").isNumber() && s.path("tokens_per_s").asDouble() > 0)
                    .mapToDouble(s -> s.get("tokens").asDouble() / s.get("tokens_per_s").asDouble()).average();
        }
    }

    private ResultsTable() {
    }

    /**
     * Reads every finished run under {@code dir} and writes summary.md, summary.json and the figures' PNGs there;
     * returns the files written. {@code speed}, when not null, is a {@code bench pipeline} result whose step-time
     * ratios go into summary.md.
     */
    public static List<Path> write(Path dir, List<Figure> figures, Path speed) {
        return write(dir, figures, List.of(), speed);
    }

    /** {@link #write(Path, List, Path)} with a section per paired {@code differences}. */
    public static List<Path> write(Path dir, List<Figure> figures, List<Difference> differences, Path speed) {
        Map<String, List<Run>> runs = read(dir);
        if (runs.isEmpty()) {
            throw new UserInputException(dir + ": no finished runs (directories SETTING-sSEED with a complete " + SUMMARY + ")");
        }
        for (Difference d : differences) {
            requireRuns(runs, "difference " + d.name(), List.of(d.a(), d.b()), dir);
        }
        for (Figure figure : figures) {
            requireRuns(runs, "figure " + figure.name(), figure.settings(), dir);
        }
        // Without figures, one figure of every setting: the charts summary.md links are the ones written.
        List<Figure> shown = figures.isEmpty() ? List.of(new Figure("all", List.copyOf(runs.keySet()))) : figures;
        Map<Figure, Map<String, XYChart>> charts = new LinkedHashMap<>();
        shown.forEach(figure -> charts.put(figure, charts(figure, runs)));
        List<Path> written = new ArrayList<>();
        try {
            Path markdown = dir.resolve("summary.md");
            StringBuilder md = new StringBuilder(markdown(runs, charts, speed));
            differences.forEach(d -> md.append('\n').append(differenceSection(runs, d)));
            Files.writeString(markdown, md, StandardCharsets.UTF_8);
            written.add(markdown);
            Path json = dir.resolve(SUMMARY);
            JSON.writerWithDefaultPrettyPrinter().writeValue(json.toFile(), summaryJson(runs));
            written.add(json);
            for (Map<String, XYChart> figure : charts.values()) {
                for (Map.Entry<String, XYChart> chart : figure.entrySet()) {
                    Path png = dir.resolve(chart.getKey());
                    BitmapEncoder.saveBitmap(chart.getValue(), png.toString(), BitmapEncoder.BitmapFormat.PNG);
                    written.add(png);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("writing the results table to " + dir, e);
        }
        return written;
    }

    /** Refuses {@code what} when one of its {@code settings} has no finished run, naming the settings there are. */
    private static void requireRuns(Map<String, List<Run>> runs, String what, List<String> settings, Path dir) {
        for (String setting : settings) {
            if (!runs.containsKey(setting)) {
                throw new UserInputException(what + ": no finished run of setting '" + setting + "' in " + dir
                        + " (settings: " + String.join(", ", runs.keySet()) + ")");
            }
        }
    }

    /** Finished runs by setting (settings in name order, runs by seed). */
    static Map<String, List<Run>> read(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new UserInputException(dir + ": not a directory");
        }
        Map<String, List<Run>> runs = new TreeMap<>();
        try (var children = Files.list(dir)) {
            for (Path child : children.sorted().toList()) {
                Matcher m = RUN_DIRECTORY.matcher(child.getFileName().toString());
                if (m.matches() && Files.isRegularFile(child.resolve(SUMMARY))) {
                    Run run = readRun(child, m.group(1), Integer.parseInt(m.group(2)));
                    if (run != null) {
                        runs.computeIfAbsent(run.setting(), k -> new ArrayList<>()).add(run);
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("listing " + dir, e);
        }
        runs.values().forEach(list -> list.sort((a, b) -> Integer.compare(a.seed(), b.seed())));
        return runs;
    }

    /** The run in {@code dir}, or null while it is unfinished. */
    private static Run readRun(Path dir, String setting, int seed) throws IOException {
        JsonNode summary = readJson(dir.resolve(SUMMARY));
        if (!summary.path("heldout_accuracy_after").isNumber()) {
            return null;
        }
        List<JsonNode> steps = new ArrayList<>();
        List<String> lines = Files.readAllLines(dir.resolve(METRICS), StandardCharsets.UTF_8);
        for (int i = 0; i < lines.size(); i++) {
            if (!lines.get(i).isBlank()) {
                try {
                    steps.add(JSON.readTree(lines.get(i)));
                } catch (IOException e) {
                    throw new UserInputException(dir.resolve(METRICS) + " line " + (i + 1) + ": not JSON: " + e.getMessage());
                }
            }
        }
        TreeMap<Integer, Double> heldout = new TreeMap<>();
        TreeMap<Integer, Long> tokensAt = new TreeMap<>();
        heldout.put(0, summary.get("heldout_accuracy_before").asDouble());
        tokensAt.put(0, 0L);
        long tokens = 0;
        for (JsonNode step : steps) {
            tokens += step.path("tokens").asLong();
            if (step.path("heldout_accuracy").isNumber()) {
                int point = step.get("step").asInt() + 1;
                heldout.put(point, step.get("heldout_accuracy").asDouble());
                tokensAt.put(point, tokens);
            }
        }
        int last = summary.get("steps").asInt();
        heldout.put(last, summary.get("heldout_accuracy_after").asDouble());
        tokensAt.put(last, tokens);
        return new Run(setting, seed, heldout, tokensAt, steps, summary);
    }

    private static JsonNode readJson(Path file) {
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new UserInputException(file + ": not JSON: " + e.getMessage());
        }
    }

    /** The mean over runs of {@code value} and its 95% interval over seeds. */
    private static Interval across(List<Run> runs, Function<Run, Double> value) {
        return Interval.of(runs.stream().mapToDouble(value::apply).toArray(), Interval.CONFIDENCE_95);
    }

    private static double orNaN(OptionalDouble value) {
        return value.isPresent() ? value.getAsDouble() : Double.NaN;
    }

    /** The held-out points every run of {@code settings} measured. */
    private static TreeSet<Integer> commonPoints(Map<String, List<Run>> runs, List<String> settings) {
        TreeSet<Integer> points = null;
        for (String setting : settings) {
            for (Run run : runs.get(setting)) {
                if (points == null) {
                    points = new TreeSet<>(run.heldout().keySet());
                } else {
                    points.retainAll(run.heldout().keySet());
                }
            }
        }
        return points == null ? new TreeSet<>() : points;
    }

    /** summary.md: per figure its table and links to its charts ({@code charts}: figure → file name → chart). */
    static String markdown(Map<String, List<Run>> runs, Map<Figure, Map<String, XYChart>> charts, Path speed) {
        StringBuilder md = new StringBuilder("# Results on the embedded task\n\n");
        md.append("Produced by `scripts/reproduce-results.sh` (the `results` command). Held-out accuracy is greedy, on the "
                + "held-out problems, after the given learner step (0 = before training); cells are the mean over seeds "
                + "and its 95% interval (Student's t), in %. *best* is each run's best held-out point. *train acc*, *EA acc* "
                + "(accuracy of experience (EA) responses), *resampled* (share of EA-response tokens drawn from the prior) "
                + "and *signal EA* / *signal other* (share of groups whose rewards are not all equal, among the groups "
                + "with experience responses / the others) are means over the run's steps; *s/step* is the mean wall "
                + "time of a learner step, *tokens* the responses' tokens generated in the whole run.\n");
        for (Map.Entry<Figure, Map<String, XYChart>> figure : charts.entrySet()) {
            md.append("\n## ").append(figure.getKey().name()).append("\n\n")
                    .append(table(runs, figure.getKey().settings())).append(levelTable(runs, figure.getKey().settings()))
                    .append(reachTable(runs, figure.getKey().settings())).append('\n');
            for (String chart : figure.getValue().keySet()) {
                md.append("![").append(chart).append("](").append(chart).append(")\n");
            }
        }
        if (speed != null) {
            md.append("\n## Speed\n\n").append(speedSection(speed));
        }
        return md.toString();
    }

    /** Held-out accuracy by difficulty level, before and after training, per setting; empty without levels. */
    private static String levelTable(Map<String, List<Run>> runs, List<String> settings) {
        TreeSet<String> levels = levels(runs, settings);
        if (levels.isEmpty()) {
            return "";
        }
        StringBuilder t = new StringBuilder("\nBy difficulty level (held-out accuracy before → after):\n\n| setting |");
        levels.forEach(l -> t.append(" level ").append(l).append(" |"));
        t.append("\n|---|");
        levels.forEach(l -> t.append("---|"));
        t.append('\n');
        for (String setting : settings) {
            List<Run> rs = runs.get(setting);
            t.append("| ").append(setting).append(" |");
            for (String level : levels) {
                t.append(' ').append(across(rs, r -> r.levelAccuracy(level, false)).percent()).append(" → ")
                        .append(across(rs, r -> r.levelAccuracy(level, true)).percent()).append(" |");
            }
            t.append('\n');
        }
        return t.toString();
    }

    /**
     * Sample efficiency by difficulty: for each level (and all problems), the learner steps and generated tokens
     * each setting's runs took to first reach the accuracy the figure's first setting (the reference) ends with,
     * as the mean over the seeds that reached it and its 95% interval, with how many reached it. Empty for a
     * figure of one setting; a level whose target is not above the mean starting accuracy says so instead.
     */
    static String reachTable(Map<String, List<Run>> runs, List<String> settings) {
        if (settings.size() < 2) {
            return "";
        }
        String reference = settings.get(0);
        TreeSet<String> levels = levels(runs, settings);
        List<String> rows = new ArrayList<>(levels);
        rows.add(ALL_LEVELS);
        StringBuilder t = new StringBuilder("\nSteps and generated tokens to first reach the held-out accuracy *"
                + reference + "* ends with, by level (the mean over the seeds that reach it and its 95% interval; "
                + "*reached*: seeds that reach it of all):\n\n| level | target | setting | steps | tokens | reached |\n"
                + "|---|---|---|---|---|---|\n");
        List<Run> all = settings.stream().flatMap(s -> runs.get(s).stream()).toList();
        for (String level : rows) {
            double target = across(runs.get(reference), r -> finalAt(r, level)).mean();
            double start = across(all, r -> startAt(r, level)).mean();
            if (!(target > start + REACH_TOLERANCE)) {
                t.append(String.format(Locale.ROOT, "| %s | %.1f | – | %s ends no higher than the runs start (%.1f) "
                        + "| | |%n", level, 100 * target, reference, 100 * start));
                continue;
            }
            for (String setting : settings) {
                List<Run> rs = runs.get(setting);
                // Each run's first point at the target, once: its step, and the tokens generated by then.
                List<double[]> reached = new ArrayList<>();
                for (Run r : rs) {
                    r.firstReaching(level, target).ifPresent(p -> reached.add(new double[] {p, r.tokensAt().get(p)}));
                }
                Interval steps = Interval.of(reached.stream().mapToDouble(p -> p[0]).toArray(), Interval.CONFIDENCE_95);
                Interval tokens = Interval.of(reached.stream().mapToDouble(p -> p[1]).toArray(), Interval.CONFIDENCE_95);
                t.append(String.format(Locale.ROOT, "| %s | %.1f | %s | %s | %s | %d/%d |%n", level, 100 * target, setting,
                        steps.format(1, "%.0f"), tokens.format(1, "%.0f"), reached.size(), rs.size()));
            }
        }
        return t.toString();
    }

    /** The difficulty levels the runs of {@code settings} were evaluated on. */
    private static TreeSet<String> levels(Map<String, List<Run>> runs, List<String> settings) {
        TreeSet<String> levels = new TreeSet<>();
        settings.forEach(setting -> runs.get(setting).forEach(r -> levels.addAll(r.levels())));
        return levels;
    }

    private static double finalAt(Run run, String level) {
        TreeMap<Integer, Double> curve = run.curve(level);
        return curve.isEmpty() ? Double.NaN : curve.lastEntry().getValue();
    }

    private static double startAt(Run run, String level) {
        TreeMap<Integer, Double> curve = run.curve(level);
        return curve.isEmpty() ? Double.NaN : curve.firstEntry().getValue();
    }

    private static String table(Map<String, List<Run>> runs, List<String> settings) {
        TreeSet<Integer> points = commonPoints(runs, settings);
        StringBuilder t = new StringBuilder("| setting | seeds |");
        points.forEach(p -> t.append(" @").append(p).append(" |"));
        t.append(" best | train acc | EA acc | resampled | signal EA | signal other | s/step | tokens |\n|---|---|");
        points.forEach(p -> t.append("---|"));
        t.append("---|---|---|---|---|---|---|---|\n");
        for (String setting : settings) {
            List<Run> rs = runs.get(setting);
            t.append("| ").append(setting).append(" | ").append(rs.size()).append(" |");
            for (int p : points) {
                t.append(' ').append(across(rs, r -> r.heldout().get(p)).percent()).append(" |");
            }
            t.append(' ').append(across(rs, Run::best).percent())
                    .append(" | ").append(across(rs, r -> orNaN(r.stepMean("accuracy"))).percent())
                    .append(" | ").append(across(rs, r -> orNaN(r.stepMean("ea_accuracy"))).percent())
                    .append(" | ").append(across(rs, r -> orNaN(r.stepMean("resampled_ratio"))).percent())
                    .append(" | ").append(across(rs, r -> orNaN(r.signalShare(true))).percent())
                    .append(" | ").append(across(rs, r -> orNaN(r.signalShare(false))).percent())
                    .append(" | ").append(String.format(Locale.ROOT, "%.2f", across(rs, r -> orNaN(r.secondsPerStep())).mean()))
                    .append(" | ").append(String.format(Locale.ROOT, "%.0f",
                            across(rs, r -> (double) r.tokensAt().lastEntry().getValue()).mean()))
                    .append(" |\n");
        }
        return t.toString();
    }

    /**
     * {@code a − b} in held-out accuracy, paired by seed (only seeds both settings ran), at each held-out point both
     * measured: at equal learner steps, and at equal generated tokens (b's curve interpolated linearly at the tokens
     * a had generated by then; empty beyond b's last point).
     */
    static String differenceSection(Map<String, List<Run>> runs, Difference d) {
        Map<Integer, Run> a = new TreeMap<>();
        runs.get(d.a()).forEach(r -> a.put(r.seed(), r));
        Map<Integer, Run> b = new TreeMap<>();
        runs.get(d.b()).forEach(r -> b.put(r.seed(), r));
        a.keySet().retainAll(b.keySet());
        List<Integer> seeds = List.copyOf(a.keySet());
        StringBuilder t = new StringBuilder("## " + d.name() + ": " + d.a() + " − " + d.b() + "\n\nHeld-out accuracy of "
                + d.a() + " minus " + d.b() + ", in points, paired by seed (seeds " + seeds + "): the mean difference and "
                + "its 95% interval; **bold** where the interval excludes 0.\n\n| point | at equal steps | at equal "
                + "generated tokens |\n|---|---|---|\n");
        for (int p : commonPoints(runs, List.of(d.a(), d.b()))) {
            double[] stepsA = seeds.stream().mapToDouble(s -> a.get(s).heldout().get(p)).toArray();
            double[] stepsB = seeds.stream().mapToDouble(s -> b.get(s).heldout().get(p)).toArray();
            double[] tokensB = seeds.stream().mapToDouble(s -> b.get(s).heldoutAtTokens(a.get(s).tokensAt().get(p))).toArray();
            t.append("| ").append(p).append(" | ").append(bold(Interval.pairedDifference(stepsA, stepsB, Interval.CONFIDENCE_95)))
                    .append(" | ").append(bold(Interval.pairedDifference(stepsA, tokensB, Interval.CONFIDENCE_95))).append(" |\n");
        }
        return t.toString();
    }

    private static String bold(Interval interval) {
        return interval.excludesZero() ? "**" + interval.percent() + "**" : interval.percent();
    }

    private static String speedSection(Path speed) {
        JsonNode bench = readJson(speed);
        StringBuilder s = new StringBuilder("From `" + speed.getFileName() + "` (`bench pipeline`, one JVM, the runs one "
                + "after the other in the same process):\n\n| run | steps | seconds | tokens/s |\n|---|---|---|---|\n");
        bench.fields().forEachRemaining(e -> {
            if (e.getValue().isObject()) {
                JsonNode r = e.getValue();
                s.append(String.format(Locale.ROOT, "| %s | %d | %.1f | %.0f |%n", e.getKey(), r.path("steps").asInt(),
                        r.path("seconds").asDouble(), r.path("generated_tokens_per_s").asDouble()));
            }
        });
        s.append('\n');
        bench.fields().forEachRemaining(e -> {
            if (e.getValue().isNumber()) {
                s.append(String.format(Locale.ROOT, "- %s: **%.2f×**%n", e.getKey(), e.getValue().asDouble()));
            }
        });
        return s.toString();
    }

    private static ObjectNode summaryJson(Map<String, List<Run>> runs) {
        ObjectNode root = JSON.createObjectNode();
        runs.forEach((setting, rs) -> {
            ObjectNode node = root.putObject(setting);
            ArrayNode seeds = node.putArray("seeds");
            rs.forEach(r -> seeds.add(r.seed()));
            ObjectNode heldout = node.putObject("heldout_accuracy");
            for (int p : commonPoints(runs, List.of(setting))) {
                putInterval(heldout, Integer.toString(p), across(rs, r -> r.heldout().get(p)));
            }
            putInterval(node, "best", across(rs, Run::best));
            putInterval(node, "train_accuracy", across(rs, r -> orNaN(r.stepMean("accuracy"))));
            putInterval(node, "ea_accuracy", across(rs, r -> orNaN(r.stepMean("ea_accuracy"))));
            putInterval(node, "resampled_ratio", across(rs, r -> orNaN(r.stepMean("resampled_ratio"))));
            putInterval(node, "signal_share_ea_groups", across(rs, r -> orNaN(r.signalShare(true))));
            putInterval(node, "signal_share_other_groups", across(rs, r -> orNaN(r.signalShare(false))));
            putInterval(node, "seconds_per_step", across(rs, r -> orNaN(r.secondsPerStep())));
            putInterval(node, "generated_tokens", across(rs, r -> (double) r.tokensAt().lastEntry().getValue()));
        });
        return root;
    }

    /** {@code key: {mean, low, high, n}} (the bounds only with two seeds or more); nothing without a value. */
    private static void putInterval(ObjectNode node, String key, Interval interval) {
        if (interval.n() > 0) {
            ObjectNode s = node.putObject(key).put("mean", interval.mean()).put("n", interval.n());
            if (interval.n() > 1) {
                s.put("low", interval.low()).put("high", interval.high());
            }
        }
    }

    // ---- charts ----

    private static final String HELDOUT_BY_STEP = "-heldout-by-step.png";
    private static final String HELDOUT_BY_TOKENS = "-heldout-by-tokens.png";
    private static final String RESAMPLED = "-resampled-ratio.png";
    private static final String EA_ACCURACY = "-ea-accuracy.png";

    /** The figure's charts by file name; per-step experience charts only when some setting has experience. */
    static Map<String, XYChart> charts(Figure figure, Map<String, List<Run>> runs) {
        Map<String, XYChart> charts = new LinkedHashMap<>();
        XYChart byStep = chart(figure.name() + ": held-out accuracy", "learner step", "held-out accuracy");
        XYChart byTokens = chart(figure.name() + ": held-out accuracy by generated tokens", "generated tokens",
                "held-out accuracy");
        TreeSet<Integer> points = commonPoints(runs, figure.settings());
        for (String setting : figure.settings()) {
            List<Run> rs = runs.get(setting);
            List<Double> x = new ArrayList<>();
            List<Double> xTokens = new ArrayList<>();
            List<Double> y = new ArrayList<>();
            List<Double> error = new ArrayList<>();
            for (int p : points) {
                Interval acc = across(rs, r -> r.heldout().get(p));
                x.add((double) p);
                xTokens.add(across(rs, r -> (double) r.tokensAt().get(p)).mean());
                y.add(acc.mean());
                error.add(acc.n() < 2 ? 0.0 : acc.high() - acc.mean());
            }
            byStep.addSeries(setting, x, y, error);
            byTokens.addSeries(setting, xTokens, y);
        }
        charts.put(figure.name() + HELDOUT_BY_STEP, byStep);
        charts.put(figure.name() + HELDOUT_BY_TOKENS, byTokens);
        addPerStep(charts, figure, runs, "resampled_ratio", RESAMPLED, "resampled ratio (EA-response tokens from the prior)");
        addPerStep(charts, figure, runs, "ea_accuracy", EA_ACCURACY, "accuracy of experience responses");
        return charts;
    }

    private static void addPerStep(Map<String, XYChart> charts, Figure figure, Map<String, List<Run>> runs, String key,
                                   String suffix, String title) {
        XYChart chart = chart(figure.name() + ": " + title, "learner step", key);
        for (String setting : figure.settings()) {
            List<double[]> series = runs.get(setting).stream().map(r -> r.byStep(key)).toList();
            int steps = series.stream().mapToInt(s -> s.length).min().orElse(0);
            double[] mean = IntStream.range(0, steps)
                    .mapToDouble(t -> Interval.of(series.stream().mapToDouble(s -> s[t]).toArray(), Interval.CONFIDENCE_95).mean())
                    .toArray();
            List<Double> x = new ArrayList<>();
            List<Double> y = new ArrayList<>();
            for (int t = 0; t < steps; t++) {
                // GRPO steps have no EA responses (NaN) or a resampled ratio of exactly 0: nothing to show.
                if (Double.isFinite(mean[t]) && !(key.equals("resampled_ratio") && alphaZero(runs.get(setting), t))) {
                    x.add((double) t);
                    y.add(mean[t]);
                }
            }
            if (!x.isEmpty()) {
                chart.addSeries(setting, x, y).setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
            }
        }
        if (!chart.getSeriesMap().isEmpty()) {
            charts.put(figure.name() + suffix, chart);
        }
    }

    private static boolean alphaZero(List<Run> runs, int step) {
        return runs.stream().allMatch(r -> step < r.steps().size() && r.steps().get(step).path("alpha").asDouble() == 0.0);
    }

    private static XYChart chart(String title, String xTitle, String yTitle) {
        XYChart chart = new XYChartBuilder().width(MetricsPlots.WIDTH).height(MetricsPlots.HEIGHT)
                .title(title).xAxisTitle(xTitle).yAxisTitle(yTitle).build();
        chart.getStyler().setYAxisDecimalPattern(MetricsPlots.Y_AXIS_DECIMALS);
        return chart;
    }
}
