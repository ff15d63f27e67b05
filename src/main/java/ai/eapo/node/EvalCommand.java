package ai.eapo.node;

import ai.djl.Device;
import ai.eapo.UserInputException;
import ai.eapo.algorithm.PassAtK;
import ai.eapo.data.DataFormat;
import ai.eapo.data.ProblemSet;
import ai.eapo.model.Checkpoint;
import ai.eapo.model.ContinuousDecoder;
import ai.eapo.model.Generator;
import ai.eapo.model.InferencePrecision;
import ai.eapo.model.PolicyModel;
import ai.eapo.model.PolicyTokenizer;
import ai.eapo.model.SamplingParams;
import ai.eapo.training.ForkProfile;
import ai.eapo.training.TaskPrompts;
import ai.eapo.verify.AnswerChecker;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.function.Function;

/**
 * {@code eval --model DIR --data FILE.jsonl --n 32 --k 1,8,32}: n samples per problem with continuous
 * batching, each graded by the Verifier; reports the unbiased pass@k for each k and mean@n (the mean share of
 * correct samples), overall and per subject and per level where the data has them, and writes
 * {@code eval.json} and {@code eval.md} to the output directory. Settings come from
 * {@code conf/application.conf}, then {@code --config FILE}, then flags.
 */
@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Evaluate a model on verifiable problems: pass@k (unbiased estimator) and mean@n, overall and "
                + "per subject and level; writes eval.json and eval.md.")
final class EvalCommand implements Callable<Integer> {

    static final String NO_GROUP = "(none)";
    private static final ObjectMapper JSON = new ObjectMapper();

    @Option(names = "--model", required = true, description = "Local Hugging Face model directory.")
    Path model;

    @Option(names = "--data", description = "Problems, JSONL (default: eapo.train.test; field names: eapo.data).")
    String data;

    @Option(names = "--n", defaultValue = "1", description = "Samples per problem (default: ${DEFAULT-VALUE}).")
    int n;

    @Option(names = "--k", split = ",", defaultValue = "1", description = "k values of pass@k, each <= n (default: ${DEFAULT-VALUE}).")
    List<Integer> k;

    @Option(names = "--limit", description = "Only the first N problems.")
    Integer limit;

    @Option(names = "--temperature", description = "0 = greedy (eapo.rollout.temperature).")
    Double temperature;

    @Option(names = "--top-p", description = "eapo.rollout.top-p")
    Double topP;

    @Option(names = "--top-k", description = "0 = off (eapo.rollout.top-k).")
    Integer topK;

    @Option(names = "--max-new-tokens", description = "Longest response (eapo.rollout.max-new-tokens).")
    Integer maxNewTokens;

    @Option(names = "--prompt-template", description = "A template with {prompt}, or a name of eapo.data.prompt-templates (eapo.data.prompt-template).")
    String promptTemplate;

    @Option(names = "--seed", description = "Sampling seed (eapo.train.seed).")
    Long seed;

    @Option(names = "--batch-size", description = "Sequences decoded together (eapo.rollout.decode-batch-size).")
    Integer batchSize;

    @Option(names = "--device", description = "cpu or gpu:N (eapo.device).")
    String device;

    @Mixin
    ConfigOptions configOptions;

    @Option(names = "--out", description = "Output directory (default: <eapo.train.results-dir>/eval-<model dir>-<data file>).")
    Path out;

    @Option(names = "--fork-profile", description = "Also sample one response per problem (at the sampling temperature, "
            + "1 when greedy) and report the policy's mean entropy at Countdown fork tokens (each step's operands and "
            + "operation) and at the other tokens.")
    boolean forkProfile;

    /** The effective settings of one evaluation. */
    record Settings(Path model, Path data, int n, List<Integer> ks, Integer limit, SamplingParams sampling,
                    int maxNewTokens, long seed, int batchSize, String device, Path out) {
    }

    /** What the samples of one problem scored. */
    record ProblemResult(int index, String level, String subject, int samples, int correct, long responseTokens,
                         int truncated) {
    }

    /** Aggregates over a set of problems. */
    record Stats(int problems, int samples, Map<Integer, Double> passAtK, double meanAtN, double meanResponseTokens,
                 double truncatedShare) {
    }

    @Override
    public Integer call() throws IOException {
        Config config = config();
        Settings s = settings(config);
        List<ProblemSet.Problem> problems = ProblemSet.read(s.data(), DataFormat.fromConfig(config));
        if (s.limit() != null && s.limit() < problems.size()) {
            problems = problems.subList(0, s.limit());
        }
        AnswerChecker verifier = PipelineRun.answerChecker(config);
        List<ProblemResult> results;
        ForkProfile.Profile profile = null;
        String template;
        double seconds;
        long started = System.nanoTime();
        Device device = Checkpoint.device(s.device());
        try (PolicyModel policy = Checkpoint.load(s.model(), device, InferencePrecision.fromConfig(config, device));
             PolicyTokenizer tokenizer = PolicyTokenizer.load(s.model(), policy.config())) {
            policy.limitVocabulary(tokenizer.vocabulary().size());
            TaskPrompts prompts = TrainingOptions.prompts(config, tokenizer);
            template = prompts.template();
            if (tokenizer.eosIds().isEmpty()) {
                throw new UserInputException("model " + s.model() + " names no end-of-sequence token (config.json "
                        + "eos_token_id or tokenizer_config.json eos_token)");
            }
            if (s.sampling().greedy() && s.n() > 1) {
                System.out.printf("temperature 0 is greedy: the %d samples of a problem are the same, so each problem "
                        + "is decoded once and counted %d times%n", s.n(), s.n());
            }
            results = evaluate(policy, prompts, tokenizer, verifier, problems, s);
            seconds = (System.nanoTime() - started) / 1e9;
            if (forkProfile) {
                SamplingParams sampled = s.sampling().greedy() ? new SamplingParams(1, 1, 0) : s.sampling();
                profile = ForkProfile.measure(policy, prompts, problems, sampled, s.maxNewTokens(), s.batchSize(), s.seed());
                System.out.println("fork profile (temperature " + sampled.temperature() + "): " + profile);
            }
        }
        Map<String, Object> report = report(s, template, problems.size(), results, seconds);
        if (profile != null) {
            report.put("forkProfile", profile);
        }
        Files.createDirectories(s.out());
        JSON.writerWithDefaultPrettyPrinter().writeValue(s.out().resolve("eval.json").toFile(), report);
        String table = markdown(s, results, seconds);
        Files.writeString(s.out().resolve("eval.md"), table);
        System.out.print(table);
        System.out.println("wrote " + s.out().resolve("eval.json") + " and eval.md");
        return 0;
    }

    /** application.conf, overridden by --config, by --set, then by flags. */
    Config config() {
        Map<String, Object> flags = new LinkedHashMap<>();
        ConfigOptions.put(flags, "eapo.train.test", data);
        ConfigOptions.put(flags, "eapo.rollout.temperature", temperature);
        ConfigOptions.put(flags, "eapo.rollout.top-p", topP);
        ConfigOptions.put(flags, "eapo.rollout.top-k", topK);
        ConfigOptions.put(flags, "eapo.rollout.max-new-tokens", maxNewTokens);
        ConfigOptions.put(flags, "eapo.rollout.decode-batch-size", batchSize);
        ConfigOptions.put(flags, "eapo.data.prompt-template", promptTemplate);
        ConfigOptions.put(flags, "eapo.train.seed", seed);
        ConfigOptions.put(flags, "eapo.device", device);
        return configOptions.load(flags);
    }

    /** Checks every setting before anything is loaded; a bad one is named with its flag and value. */
    Settings settings(Config c) {
        if (n < 1) {
            throw new UserInputException("--n must be >= 1, got " + n);
        }
        TreeSet<Integer> ks = new TreeSet<>();
        for (Integer value : k) {
            if (value == null || value < 1) {
                throw new UserInputException("--k values must be >= 1, got " + value);
            }
            if (value > n) {
                throw new UserInputException("--k " + value + " exceeds --n " + n + ": pass@k needs k <= n samples per problem");
            }
            ks.add(value);
        }
        if (limit != null && limit < 1) {
            throw new UserInputException("--limit must be >= 1, got " + limit);
        }
        Config r = c.getConfig("eapo.rollout");
        int maxNew = r.getInt("max-new-tokens");
        if (maxNew < 1) {
            throw new UserInputException("--max-new-tokens (eapo.rollout.max-new-tokens) must be >= 1, got " + maxNew);
        }
        int batch = r.getInt("decode-batch-size");
        if (batch < 1) {
            throw new UserInputException("--batch-size (eapo.rollout.decode-batch-size) must be >= 1, got " + batch);
        }
        SamplingParams sampling = new SamplingParams(r.getDouble("temperature"), r.getDouble("top-p"), r.getInt("top-k"));
        if (!Files.isDirectory(model)) {
            throw new UserInputException("--model " + model + ": model directory does not exist");
        }
        Path dataFile = Path.of(c.getString("eapo.train.test"));
        if (!Files.isRegularFile(dataFile)) {
            throw new UserInputException("--data " + dataFile + ": data file does not exist");
        }
        String dev = c.getString("eapo.device");
        Checkpoint.device(dev); // validates the name
        Path outDir = out != null ? out
                : Path.of(c.getString("eapo.train.results-dir")).resolve("eval-" + name(model) + "-" + stem(dataFile));
        return new Settings(model, dataFile, n, List.copyOf(ks), limit, sampling, maxNew, c.getLong("eapo.train.seed"),
                batch, dev, outDir);
    }

    private static String name(Path p) {
        Path f = p.toAbsolutePath().normalize().getFileName();
        return f == null ? "model" : f.toString();
    }

    private static String stem(Path p) {
        return name(p).replaceFirst("\\.(jsonl|json)$", "");
    }

    /**
     * Decodes every problem's samples with continuous batching (all requests queued, up to the batch size
     * decoding together), grades each as it finishes, and moves the progress bar when a problem's last sample
     * is graded. With greedy decoding each problem is decoded once and counted {@code n} times.
     */
    static List<ProblemResult> evaluate(PolicyModel policy, TaskPrompts prompts, PolicyTokenizer tokenizer,
                                        AnswerChecker verifier, List<ProblemSet.Problem> problems, Settings s) {
        int decoded = s.sampling().greedy() ? 1 : s.n();
        int weight = s.n() / decoded;
        int[] correct = new int[problems.size()];
        long[] tokens = new long[problems.size()];
        int[] truncated = new int[problems.size()];
        int[] remaining = new int[problems.size()];
        try (ContinuousDecoder decoder = new ContinuousDecoder(policy, s.sampling(), tokenizer.eosIds(), s.batchSize(), ContinuousDecoder.CriticalPositions.NONE);
             ProgressBar bar = new ProgressBarBuilder().setTaskName("eval").setInitialMax(problems.size())
                     .setUnit(" problems", 1).build()) {
            for (int i = 0; i < problems.size(); i++) {
                long[] prompt = prompts.prompt(problems.get(i));
                if (prompt.length == 0) {
                    throw new UserInputException("--data " + s.data() + ": problem " + (i + 1) + " encodes to no tokens");
                }
                remaining[i] = decoded;
                for (int j = 0; j < decoded; j++) {
                    decoder.submit(new Generator.Request((long) i * decoded + j, prompt, s.maxNewTokens(),
                            sampleSeed(s.seed(), i, j)));
                }
            }
            while (!decoder.idle()) {
                for (Generator.Completion c : decoder.step().finished()) {
                    int i = (int) (c.id() / decoded);
                    if (verifier.verify(prompts.decode(c.tokens()), problems.get(i).answer()).correct()) {
                        correct[i] += weight;
                    }
                    tokens[i] += (long) c.tokens().length * weight;
                    truncated[i] += c.stopped() ? 0 : weight;
                    if (--remaining[i] == 0) {
                        bar.step();
                    }
                }
            }
        }
        List<ProblemResult> out = new ArrayList<>();
        for (int i = 0; i < problems.size(); i++) {
            ProblemSet.Problem p = problems.get(i);
            out.add(new ProblemResult(i, p.level(), p.subject(), s.n(), correct[i], tokens[i], truncated[i]));
        }
        return out;
    }

    /** The seed of sample {@code j} of problem {@code i}: distinct streams for every (seed, problem, sample). */
    static long sampleSeed(long seed, int problem, int sample) {
        return mix(seed ^ mix(((long) problem << 32) | sample));
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    static Stats stats(List<ProblemResult> results, List<Integer> ks) {
        int[] ns = results.stream().mapToInt(ProblemResult::samples).toArray();
        int[] cs = results.stream().mapToInt(ProblemResult::correct).toArray();
        Map<Integer, Double> pass = new LinkedHashMap<>();
        ks.forEach(k -> pass.put(k, PassAtK.passAtK(ns, cs, k)));
        long samples = results.stream().mapToLong(ProblemResult::samples).sum();
        long tokens = results.stream().mapToLong(ProblemResult::responseTokens).sum();
        long truncated = results.stream().mapToLong(ProblemResult::truncated).sum();
        return new Stats(results.size(), (int) samples, pass, PassAtK.meanAtN(ns, cs),
                samples == 0 ? Double.NaN : (double) tokens / samples, samples == 0 ? Double.NaN : (double) truncated / samples);
    }

    /** Problems grouped by {@code key} (level or subject), in natural order; empty when no problem has one. */
    static Map<String, List<ProblemResult>> groups(List<ProblemResult> results, Function<ProblemResult, String> key) {
        if (results.stream().allMatch(r -> key.apply(r).isEmpty())) {
            return Map.of();
        }
        Map<String, List<ProblemResult>> groups = new TreeMap<>(NATURAL);
        for (ProblemResult r : results) {
            String g = key.apply(r).isEmpty() ? NO_GROUP : key.apply(r);
            groups.computeIfAbsent(g, x -> new ArrayList<>()).add(r);
        }
        return groups;
    }

    /** Numbers by value (level 2 before level 10), everything else alphabetically after them. */
    static final Comparator<String> NATURAL = (a, b) -> {
        Long x = number(a);
        Long y = number(b);
        if (x != null && y != null) {
            return x.equals(y) ? a.compareTo(b) : Long.compare(x, y);
        }
        if (x != null || y != null) {
            return x != null ? -1 : 1;
        }
        return a.compareTo(b);
    };

    private static Long number(String s) {
        String digits = s.replaceFirst("(?i)^level\\s*", "").strip();
        return digits.matches("-?\\d{1,18}") ? Long.parseLong(digits) : null;
    }

    static Map<String, Object> report(Settings s, String template, int problems, List<ProblemResult> results,
                                      double seconds) {
        Map<String, Object> report = new LinkedHashMap<>();
        report.put("model", s.model().toString());
        report.put("data", s.data().toString());
        Map<String, Object> settings = new LinkedHashMap<>();
        settings.put("n", s.n());
        settings.put("k", s.ks());
        settings.put("limit", s.limit());
        settings.put("temperature", s.sampling().temperature());
        settings.put("top_p", s.sampling().topP());
        settings.put("top_k", s.sampling().topK());
        settings.put("greedy", s.sampling().greedy());
        settings.put("max_new_tokens", s.maxNewTokens());
        settings.put("seed", s.seed());
        settings.put("batch_size", s.batchSize());
        settings.put("device", s.device());
        settings.put("prompt_template", template);
        report.put("settings", settings);
        report.put("problems", problems);
        report.put("seconds", seconds);
        long generated = results.stream().mapToLong(ProblemResult::responseTokens).sum()
                / (s.sampling().greedy() ? s.n() : 1);
        report.put("generated_tokens", generated);
        report.put("tokens_per_s", generated / seconds);
        report.put("overall", json(stats(results, s.ks())));
        Map<String, Object> groups = new LinkedHashMap<>();
        addGroups(groups, "subject", groups(results, ProblemResult::subject), s.ks());
        addGroups(groups, "level", groups(results, ProblemResult::level), s.ks());
        report.put("groups", groups);
        ArrayNode perProblem = JSON.createArrayNode();
        for (ProblemResult r : results) {
            ObjectNode o = perProblem.addObject();
            o.put("index", r.index());
            o.put("subject", r.subject());
            o.put("level", r.level());
            o.put("n", r.samples());
            o.put("correct", r.correct());
            o.put("mean_response_tokens", (double) r.responseTokens() / r.samples());
            o.put("truncated", r.truncated());
        }
        report.put("per_problem", perProblem);
        return report;
    }

    private static void addGroups(Map<String, Object> into, String name, Map<String, List<ProblemResult>> groups,
                                  List<Integer> ks) {
        if (groups.isEmpty()) {
            return;
        }
        Map<String, Object> g = new LinkedHashMap<>();
        groups.forEach((key, members) -> g.put(key, json(stats(members, ks))));
        into.put(name, g);
    }

    private static Map<String, Object> json(Stats st) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("problems", st.problems());
        m.put("samples", st.samples());
        Map<String, Double> pass = new LinkedHashMap<>();
        st.passAtK().forEach((k, v) -> pass.put(Integer.toString(k), v));
        m.put("pass_at_k", pass);
        m.put("mean_at_n", st.meanAtN());
        m.put("mean_response_tokens", st.meanResponseTokens());
        m.put("truncated_share", st.truncatedShare());
        return m;
    }

    /** The Markdown table: a heading line, then one row overall and one per subject and per level. */
    static String markdown(Settings s, List<ProblemResult> results, double seconds) {
        StringBuilder md = new StringBuilder();
        SamplingParams p = s.sampling();
        md.append(String.format(Locale.ROOT, "Evaluation of `%s` on `%s`: %d problems × %d sample%s, %s, at most %d new "
                        + "tokens, seed %d (%.0f s)%n%n", s.model(), s.data(), results.size(), s.n(), s.n() == 1 ? "" : "s",
                p.greedy() ? "greedy" : String.format(Locale.ROOT, "temperature %s, top-p %s, top-k %d",
                        p.temperature(), p.topP(), p.topK()),
                s.maxNewTokens(), s.seed(), seconds));
        md.append("| group | problems");
        s.ks().forEach(k -> md.append(" | pass@").append(k));
        md.append(" | mean@").append(s.n()).append(" | mean response tokens | truncated |\n|---|---:");
        s.ks().forEach(k -> md.append("|---:"));
        md.append("|---:|---:|---:|\n");
        row(md, "all", stats(results, s.ks()));
        groups(results, ProblemResult::subject).forEach((g, m) -> row(md, "subject " + g, stats(m, s.ks())));
        groups(results, ProblemResult::level).forEach((g, m) -> row(md, "level " + g, stats(m, s.ks())));
        return md.toString();
    }

    private static void row(StringBuilder md, String group, Stats st) {
        md.append("| ").append(group.replace("|", "\\|")).append(" | ").append(st.problems());
        st.passAtK().values().forEach(v -> md.append(" | ").append(percent(v)));
        md.append(" | ").append(percent(st.meanAtN()))
                .append(String.format(Locale.ROOT, " | %.1f | %s |%n", st.meanResponseTokens(), percent(st.truncatedShare())));
    }

    private static String percent(double v) {
        return String.format(Locale.ROOT, "%.1f%%", 100 * v);
    }
}
