package ai.eapo.node;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.eapo.UserInputException;
import ai.eapo.model.Checkpoint;
import ai.eapo.model.DecodeBatch;
import ai.eapo.model.ModelConfig;
import ai.eapo.model.PolicyModel;
import ai.eapo.model.SamplingParams;
import ai.eapo.model.TokenSampler;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.stream.LongStream;

/**
 * {@code bench decode}: throughput of the incremental decoder ({@link DecodeBatch}, KV cache, continuous
 * batching) on a randomly initialised Qwen2-shaped model, per batch size, against
 *
 * <ul>
 *   <li>the same tokens produced without a cache: every new token recomputes the whole prefix with
 *       {@link PolicyModel#logits} (which also projects every position onto the vocabulary, as a naive
 *       cache-less sampler does), fed the tokens the cached run drew, sampled with the same uniform numbers;</li>
 *   <li>the FLOP/s of one plain square fp32 matmul measured in the same process, as the machine's practical
 *       peak for this engine.</li>
 * </ul>
 *
 * <p>A run of one batch size: {@code join} of B random prompts (the prefill, timed on its own), then
 * {@code new-tokens − 1} {@code step}s, each sampling the next token of every row with {@link TokenSampler}
 * at temperature 1 (EOS is ignored: every row generates exactly {@code new-tokens} tokens). The first token
 * comes from the prefill's logits in both the cached and the uncached way, so the comparison covers the
 * decode steps 1 … new-tokens − 1. Each batch size runs once untimed (warm-up) before the timed run.
 *
 * <p>Model FLOPs of one decode step of one row whose token attends to {@code c} positions (its cache plus
 * itself): {@code 2 · M + 4 · layers · heads · headDim · c}, where M is the number of weights used in
 * matrix products (q/k/v/o projections, gate/up/down, lm_head; not the embedding lookup, norms or biases):
 * two FLOPs per multiply-add, and Q·Kᵀ plus P·V over c keys per head. Useful work only: DecodeBatch
 * attends over its whole (masked) cache capacity, which is not counted.
 */
@Command(name = "decode", mixinStandardHelpOptions = true,
        description = "Measure cached incremental decoding (tokens/s, FLOP/s) against recomputing the prefix.")
public final class BenchDecodeCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--batch-sizes", split = ",", defaultValue = "1,8,32,64",
            description = "Batch sizes to measure (default: ${DEFAULT-VALUE}).")
    int[] batchSizes;

    @Option(names = "--new-tokens", defaultValue = "64", description = "Tokens generated per sequence (default: ${DEFAULT-VALUE}).")
    int newTokens;

    @Option(names = "--prompt-length", defaultValue = "16", description = "Prompt tokens per sequence (default: ${DEFAULT-VALUE}).")
    int promptLength;

    @Option(names = "--uncached-steps", defaultValue = "16",
            description = "Uncached steps timed per batch size, evenly spread over the generation; the time of all "
                    + "steps is extrapolated from them. 0 = time every step (default: ${DEFAULT-VALUE}).")
    int uncachedSteps;

    @Option(names = "--matmul-size", defaultValue = "1024", description = "N of the N×N fp32 reference matmul (default: ${DEFAULT-VALUE}).")
    int matmulSize;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu or gpu:N (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--out", defaultValue = "results/bench-decode.json", description = "JSON report (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--seed", defaultValue = "0", description = "default: ${DEFAULT-VALUE}")
    long seed;

    @Option(names = "--vocab", defaultValue = "8192", description = "default: ${DEFAULT-VALUE}")
    int vocab;

    @Option(names = "--hidden", defaultValue = "384", description = "default: ${DEFAULT-VALUE}")
    int hidden;

    @Option(names = "--intermediate", defaultValue = "1024", description = "default: ${DEFAULT-VALUE}")
    int intermediate;

    @Option(names = "--layers", defaultValue = "8", description = "default: ${DEFAULT-VALUE}")
    int layers;

    @Option(names = "--heads", defaultValue = "6", description = "default: ${DEFAULT-VALUE}")
    int heads;

    @Option(names = "--kv-heads", defaultValue = "2", description = "default: ${DEFAULT-VALUE}")
    int kvHeads;

    @Option(names = "--tied", description = "Tie the lm_head to the embedding (default: untied).")
    boolean tied;

    @Option(names = "--shape", description = "A model directory (or any directory with a config.json, e.g. "
            + "../shared/shapes/qwen2.5-0.5b) whose shape replaces the shape options above; weights are random.")
    Path shape;

    /** Decode at batch 64 should reach this share of the same-run matmul FLOP/s (issue #19). */
    static final double GOAL_FRACTION_OF_MATMUL = 0.6;
    /** A batch-1 step should take at most this many times the weight-streaming floor (issue #19). */
    static final double GOAL_TIMES_STREAMING_FLOOR = 2.0;
    /** Passes over the weights when timing the streaming floor (the best one counts). */
    private static final int STREAMING_PASSES = 5;

    static final String FLOP_FORMULA = "per decoded token attending to c positions: 2*M + 4*layers*heads*headDim*c, "
            + "M = weights in matrix products (q,k,v,o,gate,up,down per layer + lm_head; no embedding lookup, norms, biases)";

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private static final SamplingParams SAMPLING = SamplingParams.PLAIN;

    /** What one timed run of one batch size measured. */
    record Cached(long[][] tokens, double[][] uniforms, long prefillNanos, long decodeNanos, double decodeFlops) {
    }

    record Uncached(int stepsTimed, int stepsTotal, double secondsAllSteps, double agreement) {
        boolean extrapolated() {
            return stepsTimed < stepsTotal;
        }
    }

    /**
     * One pass of {@code rows}-row linears over the model's {@code weights} matmul weights ({@code bytes} of them),
     * the best of a few passes: at one row the weight-streaming floor of a decode step (and the bandwidth that is),
     * at a decode batch's rows the time its projections alone take with this engine.
     */
    record LinearPass(int rows, long weights, long bytes, double seconds) {
        double bandwidth() {
            return bytes / seconds;
        }

        double gflops() {
            return 2.0 * rows * weights / seconds / 1e9;
        }
    }

    record Matmul(int size, double bestSeconds, double medianSeconds, int repeats) {
        double gflops() {
            return 2.0 * size * size * size / bestSeconds / 1e9;
        }
    }

    @Override
    public Integer call() throws IOException {
        validate();
        PrintWriter console = spec != null ? spec.commandLine().getOut() : new PrintWriter(System.out, true);
        Device dev = Checkpoint.device(device);
        ModelConfig config = shape != null ? ModelConfig.read(shape)
                : ModelConfig.qwen2(vocab, hidden, intermediate, layers, heads, kvHeads, tied, List.of(vocab - 1));
        long matmulWeights = matmulWeights(config);
        console.printf("model: %s vocab=%d hidden=%d intermediate=%d layers=%d heads=%d kvHeads=%d headDim=%d %s%n",
                config.modelType(), config.vocabSize(), config.hiddenSize(), config.intermediateSize(),
                config.numLayers(), config.numHeads(), config.numKvHeads(), config.headDim(),
                config.tieWordEmbeddings() ? "tied" : "untied");
        console.printf("parameters: %,d (ModelConfig.parameterCount); weights in matmuls M = %,d (%.1f MFLOP/token + attention)%n",
                config.parameterCount(), matmulWeights, 2.0 * matmulWeights / 1e6);
        console.flush();

        ObjectNode report = JSON.createObjectNode();
        report.put("benchmark", "decode");
        report.put("timestamp", Instant.now().toString());
        report.set("machine", machine(dev));
        report.set("model", modelJson(config, matmulWeights));
        ObjectNode settings = report.putObject("settings");
        settings.put("promptLength", promptLength);
        settings.put("newTokens", newTokens);
        settings.put("decodeStepsTimed", newTokens - 1);
        settings.put("sampling", "temperature 1, inverse-CDF with one uniform per row and step; EOS ignored");
        settings.put("warmup", "one untimed run of the same batch size before the timed cached run; one untimed uncached step before timing");
        settings.put("uncachedStepsRequested", uncachedSteps);
        settings.put("seed", seed);
        report.put("flopFormula", FLOP_FORMULA);
        report.put("notes", "cachedTokensPerSecond counts the decode steps only (prefill reported separately); "
                + "uncached = PolicyModel.logits over the whole prefix for every token, same tokens and uniforms; "
                + "speedup = cached / uncached tokens per second over the same decode steps; "
                + "when uncachedExtrapolated is true only uncachedStepsTimed evenly spaced steps were timed and "
                + "the time of all steps is their mean times the step count.");

        try (NDManager root = NDManager.newBaseManager(dev)) {
            Matmul mm = matmul(root, matmulSize);
            console.printf("reference matmul %d×%d fp32: %.1f GFLOP/s (best of %d, median %.2f ms)%n",
                    mm.size(), mm.size(), mm.gflops(), mm.repeats(), mm.medianSeconds() * 1e3);
            ObjectNode mmJson = report.putObject("matmul");
            mmJson.put("size", mm.size());
            mmJson.put("flops", 2.0 * mm.size() * mm.size() * mm.size());
            mmJson.put("repeats", mm.repeats());
            mmJson.put("bestSeconds", mm.bestSeconds());
            mmJson.put("medianSeconds", mm.medianSeconds());
            mmJson.put("gflops", mm.gflops());

            console.println();
            ArrayNode results = report.putArray("results");
            try (PolicyModel model = PolicyModel.random(config, dev, seed, 0.02f)) {
                LinearPass streaming = linearPass(model, root, 1);
                double hotBandwidth = hotBandwidth(model, root);
                console.printf("weight streaming: %.1f MB of matmul weights in %.2f ms by batch-1 linears (%.1f GB/s; "
                                + "one matrix repeated, from the cache: %.1f GB/s)%n%n", streaming.bytes() / 1e6,
                        streaming.seconds() * 1e3, streaming.bandwidth() / 1e9, hotBandwidth / 1e9);
                console.printf("%6s %10s %12s %9s %12s %8s %9s %9s %8s %6s %9s%n", "batch", "prefill ms",
                        "cached tok/s", "ms/step", "uncached t/s", "speedup", "GFLOP/s", "of matmul", "agree", "timed",
                        "x floor");
                console.flush();
                ObjectNode floor = report.putObject("streamingFloor");
                floor.put("bytes", streaming.bytes());
                floor.put("passSeconds", streaming.seconds());
                floor.put("bandwidthBytesPerSecond", streaming.bandwidth());
                floor.put("hotBandwidthBytesPerSecond", hotBandwidth);
                floor.put("method", "one batch-1 linear over each matmul weight of the model in turn, best of "
                        + STREAMING_PASSES + " passes; hot = one weight matrix repeated (cache-resident)");
                ObjectNode goals = report.putObject("goals");
                goals.put("batch64FractionOfMatmul", GOAL_FRACTION_OF_MATMUL);
                goals.put("batch1TimesStreamingFloor", GOAL_TIMES_STREAMING_FLOOR);
                for (int batch : batchSizes) {
                    Random random = new Random(seed * 1_000_003L + batch);
                    List<long[]> prompts = prompts(random, batch);
                    double[][] uniforms = uniforms(random, batch);
                    runCached(model, root, prompts, uniforms); // warm-up
                    Cached cached = runCached(model, root, prompts, uniforms);
                    Uncached uncached = runUncached(model, root, prompts, cached);

                    int steps = newTokens - 1;
                    double decodeSeconds = cached.decodeNanos() / 1e9;
                    double cachedTps = (double) batch * steps / decodeSeconds;
                    double uncachedTps = (double) batch * steps / uncached.secondsAllSteps();
                    double gflops = cached.decodeFlops() / decodeSeconds / 1e9;
                    ObjectNode r = results.addObject();
                    r.put("batchSize", batch);
                    r.put("prefillSeconds", cached.prefillNanos() / 1e9);
                    r.put("cachedDecodeSeconds", decodeSeconds);
                    r.put("cachedMsPerStep", decodeSeconds * 1e3 / steps);
                    r.put("cachedTokensPerSecond", cachedTps);
                    r.put("cachedEndToEndTokensPerSecond", (double) batch * newTokens / ((cached.prefillNanos() + cached.decodeNanos()) / 1e9));
                    r.put("uncachedStepsTimed", uncached.stepsTimed());
                    r.put("uncachedStepsTotal", uncached.stepsTotal());
                    r.put("uncachedExtrapolated", uncached.extrapolated());
                    r.put("uncachedSeconds", uncached.secondsAllSteps());
                    r.put("uncachedTokensPerSecond", uncachedTps);
                    r.put("speedup", cachedTps / uncachedTps);
                    r.put("uncachedTokenAgreement", uncached.agreement());
                    r.put("decodeFlops", cached.decodeFlops());
                    r.put("achievedGflops", gflops);
                    r.put("fractionOfMatmulGflops", gflops / mm.gflops());
                    double stepSeconds = decodeSeconds / steps;
                    double timesFloor = stepSeconds / streaming.seconds();
                    r.put("msPerStepOverStreamingFloor", timesFloor);
                    LinearPass projections = linearPass(model, root, batch);
                    r.put("projectionsAloneSeconds", projections.seconds());
                    r.put("projectionsShareOfStep", projections.seconds() / stepSeconds);
                    r.put("projectionsGflops", projections.gflops());
                    console.printf("%6d %10.1f %12.1f %9.2f %12.1f %7.1fx %9.2f %8.1f%% %8.3f %6s %8.2fx%n", batch,
                            cached.prefillNanos() / 1e6, cachedTps, decodeSeconds * 1e3 / steps, uncachedTps,
                            cachedTps / uncachedTps, gflops, 100 * gflops / mm.gflops(), uncached.agreement(),
                            uncached.stepsTimed() + "/" + uncached.stepsTotal(), timesFloor);
                    console.printf("%6s the step's projections alone: %.2f ms (%.0f%% of the step), %.1f GFLOP/s%n", "",
                            projections.seconds() * 1e3, 100 * projections.seconds() / stepSeconds, projections.gflops());
                    console.flush();
                }
            }
        }
        console.println("(timed = uncached steps timed / decode steps; fewer means the uncached time is extrapolated)");
        writeReport(report, out, console);
        return 0;
    }

    private void validate() {
        if (batchSizes == null || batchSizes.length == 0 || Arrays.stream(batchSizes).anyMatch(b -> b < 1)) {
            throw new UserInputException("--batch-sizes must be positive integers, got " + Arrays.toString(batchSizes));
        }
        if (newTokens < 2) {
            throw new UserInputException("--new-tokens must be >= 2 (the first token comes from the prefill), got " + newTokens);
        }
        if (promptLength < 1) {
            throw new UserInputException("--prompt-length must be >= 1, got " + promptLength);
        }
        if (uncachedSteps < 0) {
            throw new UserInputException("--uncached-steps must be >= 0 (0 = all), got " + uncachedSteps);
        }
        if (matmulSize < 1) {
            throw new UserInputException("--matmul-size must be >= 1, got " + matmulSize);
        }
        if (vocab < 2 || hidden < 1 || intermediate < 1 || layers < 1 || heads < 1 || kvHeads < 1) {
            throw new UserInputException("model shape must be positive (vocab >= 2)");
        }
        if (hidden % heads != 0) {
            throw new UserInputException("--hidden " + hidden + " is not a multiple of --heads " + heads);
        }
    }

    private List<long[]> prompts(Random random, int batch) {
        List<long[]> prompts = new ArrayList<>();
        for (int b = 0; b < batch; b++) {
            prompts.add(LongStream.range(0, promptLength).map(i -> random.nextInt(vocab)).toArray());
        }
        return prompts;
    }

    /** uniforms[t][row]: the number that draws token t of the row. */
    private double[][] uniforms(Random random, int batch) {
        double[][] u = new double[newTokens][batch];
        for (double[] step : u) {
            for (int b = 0; b < batch; b++) {
                step[b] = random.nextDouble();
            }
        }
        return u;
    }

    /** Prefill + new-tokens − 1 cached steps; each step's arrays live in a sub-manager closed at its end. */
    private Cached runCached(PolicyModel model, NDManager root, List<long[]> prompts, double[][] uniforms) {
        int batch = prompts.size();
        ModelConfig c = model.config();
        long[][] tokens = new long[newTokens][];
        List<Long> ids = LongStream.range(0, batch).boxed().toList();
        double flops = 0;
        long prefill;
        long decode;
        try (DecodeBatch decoder = new DecodeBatch(model)) {
            long start = System.nanoTime();
            try (NDManager step = root.newSubManager()) {
                NDArray logits = decoder.join(ids, prompts, step);
                tokens[0] = TokenSampler.sample(logits, SAMPLING, uniforms[0]).tokens();
            }
            prefill = System.nanoTime() - start;
            start = System.nanoTime();
            for (int t = 1; t < newTokens; t++) {
                try (NDManager step = root.newSubManager()) {
                    NDArray logits = decoder.step(tokens[t - 1], step);
                    tokens[t] = TokenSampler.sample(logits, SAMPLING, uniforms[t]).tokens();
                }
            }
            decode = System.nanoTime() - start;
        }
        long weights = matmulWeights(c);
        for (int t = 1; t < newTokens; t++) {
            long context = promptLength + t; // cache (prompt + tokens 0..t-2) plus the token fed
            flops += batch * (2.0 * weights + 4.0 * c.numLayers() * c.numHeads() * c.headDim() * context);
        }
        return new Cached(tokens, uniforms, prefill, decode, flops);
    }

    /**
     * Times uncached decode steps: step t runs {@link PolicyModel#logits} over prompt + tokens 0..t-1 and draws
     * token t from the last position with the cached run's uniform, so both produce the same tokens.
     */
    private Uncached runUncached(PolicyModel model, NDManager root, List<long[]> prompts, Cached cached) {
        int batch = prompts.size();
        int total = newTokens - 1;
        int timed = uncachedSteps == 0 ? total : Math.min(uncachedSteps, total);
        int[] steps = new int[timed];
        for (int j = 0; j < timed; j++) {
            steps[j] = timed == 1 ? 1 + total / 2 : 1 + (int) Math.round((double) j * (total - 1) / (timed - 1));
        }
        uncachedStep(model, root, prompts, cached, steps[timed - 1]); // warm-up at the longest timed prefix
        long nanos = 0;
        long agree = 0;
        for (int t : steps) {
            long start = System.nanoTime();
            long[] drawn = uncachedStep(model, root, prompts, cached, t);
            nanos += System.nanoTime() - start;
            for (int b = 0; b < batch; b++) {
                if (drawn[b] == cached.tokens()[t][b]) {
                    agree++;
                }
            }
        }
        double all = nanos / 1e9 / timed * total;
        return new Uncached(timed, total, all, (double) agree / ((long) timed * batch));
    }

    private long[] uncachedStep(PolicyModel model, NDManager root, List<long[]> prompts, Cached cached, int t) {
        int batch = prompts.size();
        int length = promptLength + t;
        long[] flat = new long[batch * length];
        for (int b = 0; b < batch; b++) {
            System.arraycopy(prompts.get(b), 0, flat, b * length, promptLength);
            for (int i = 0; i < t; i++) {
                flat[b * length + promptLength + i] = cached.tokens()[i][b];
            }
        }
        try (NDManager step = root.newSubManager()) {
            NDArray ids = step.create(flat, new Shape(batch, length));
            NDArray last = model.logits(ids).get(":, -1, :");
            return TokenSampler.sample(last, SAMPLING, cached.uniforms()[t]).tokens();
        }
    }

    /** The model's matmul weights as a decode step reads them: q/k/v/o, gate/up/down, the lm_head (or tied embedding). */
    private static List<NDArray> projectionWeights(PolicyModel model) {
        List<NDArray> weights = new ArrayList<>();
        String head = model.config().tieWordEmbeddings() ? "model.embed_tokens.weight" : "lm_head.weight";
        model.parameters().forEach((name, w) -> {
            if (name.endsWith("_proj.weight") || name.equals(head)) {
                weights.add(w);
            }
        });
        return weights;
    }

    /**
     * Times {@code passes} passes of one {@code rows}-row linear by each of {@code weights} in turn, computed as the
     * decoder computes it ({@link PolicyModel#weightsFirstLinear}; inputs made beforehand, one per input width);
     * returns the best pass in nanoseconds.
     */
    private static long bestPass(NDManager root, int rows, List<NDArray> weights, int passes) {
        try (NDManager m = root.newSubManager()) {
            java.util.Map<Long, NDArray> inputs = new java.util.HashMap<>();
            for (NDArray w : weights) {
                inputs.computeIfAbsent(w.getShape().get(1),
                        width -> m.randomUniform(-1f, 1f, new Shape(rows, width), DataType.FLOAT32));
            }
            long best = Long.MAX_VALUE;
            for (int pass = 0; pass < passes; pass++) {
                long start = System.nanoTime();
                for (NDArray w : weights) {
                    try (NDManager s = m.newSubManager(); NDArray view = w.stopGradient()) {
                        NDArray x = inputs.get(view.getShape().get(1));
                        PolicyModel.weightsFirstLinear(x, view, null).attach(s);
                    }
                }
                best = Math.min(best, System.nanoTime() - start);
            }
            return best;
        }
    }

    /** {@link LinearPass}: each matmul weight of the model once, in order, the best of a few passes after a warm-up. */
    static LinearPass linearPass(PolicyModel model, NDManager root, int rows) {
        List<NDArray> weights = projectionWeights(model);
        bestPass(root, rows, weights, 1); // warm-up
        long best = bestPass(root, rows, weights, STREAMING_PASSES);
        return new LinearPass(rows, weights.stream().mapToLong(NDArray::size).sum(),
                weights.stream().mapToLong(w -> w.size() * w.getDataType().getNumOfBytes()).sum(), best / 1e9);
    }

    /**
     * Bytes per second of a batch-1 linear repeated over the model's smallest matmul weight, which then stays in the
     * cache: what a single repeated batch-1 matmul measures, and why it overstates the floor of a larger model.
     */
    static double hotBandwidth(PolicyModel model, NDManager root) {
        List<NDArray> weights = projectionWeights(model);
        NDArray smallest = weights.stream().min(java.util.Comparator.comparingLong(NDArray::size)).orElseThrow();
        List<NDArray> repeated = java.util.Collections.nCopies(weights.size(), smallest);
        long nanos = bestPass(root, 1, repeated, 1);
        return (double) repeated.size() * smallest.size() * smallest.getDataType().getNumOfBytes() / (nanos / 1e9);
    }

    /** Writes a benchmark's JSON report to {@code out} (making its folder) and says so. */
    static void writeReport(ObjectNode report, Path out, PrintWriter console) throws IOException {
        Path parent = out.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        JSON.writerWithDefaultPrettyPrinter().writeValue(out.toFile(), report);
        console.println("wrote " + out);
        console.flush();
    }

    /** Best and median time of an N×N fp32 matmul, repeated for at least a second (at least 5 times). */
    static Matmul matmul(NDManager root, int n) {
        try (NDManager m = root.newSubManager()) {
            NDArray a = m.randomUniform(-1f, 1f, new Shape(n, n), DataType.FLOAT32);
            NDArray b = m.randomUniform(-1f, 1f, new Shape(n, n), DataType.FLOAT32);
            for (int i = 0; i < 2; i++) {
                try (NDManager w = m.newSubManager()) {
                    a.matMul(b).attach(w);
                }
            }
            List<Long> times = new ArrayList<>();
            long spent = 0;
            while (times.size() < 5 || (spent < 1_000_000_000L && times.size() < 1000)) {
                try (NDManager w = m.newSubManager()) {
                    long start = System.nanoTime();
                    NDArray c = a.matMul(b);
                    c.attach(w);
                    c.get(0, 0).getFloat(); // make sure the product is computed
                    long dt = System.nanoTime() - start;
                    times.add(dt);
                    spent += dt;
                }
            }
            long[] sorted = times.stream().mapToLong(Long::longValue).sorted().toArray();
            return new Matmul(n, sorted[0] / 1e9, sorted[sorted.length / 2] / 1e9, sorted.length);
        }
    }

    /** Weights that take part in a matrix product per token: attention and MLP projections, and the lm_head. */
    static long matmulWeights(ModelConfig c) {
        long q = (long) c.numHeads() * c.headDim();
        long kv = (long) c.numKvHeads() * c.headDim();
        long attention = c.hiddenSize() * (q + 2 * kv) + q * c.hiddenSize();
        long mlp = 3L * c.hiddenSize() * c.intermediateSize();
        return c.numLayers() * (attention + mlp) + (long) c.vocabSize() * c.hiddenSize();
    }

    private static ObjectNode modelJson(ModelConfig c, long matmulWeights) {
        ObjectNode m = JSON.createObjectNode();
        m.put("type", c.modelType());
        m.put("vocab", c.vocabSize());
        m.put("hidden", c.hiddenSize());
        m.put("intermediate", c.intermediateSize());
        m.put("layers", c.numLayers());
        m.put("heads", c.numHeads());
        m.put("kvHeads", c.numKvHeads());
        m.put("headDim", c.headDim());
        m.put("tiedEmbeddings", c.tieWordEmbeddings());
        m.put("parameterCount", c.parameterCount());
        m.put("matmulWeights", matmulWeights);
        m.put("dtype", "float32");
        m.put("init", "random normal(0, 0.02)");
        return m;
    }

    static ObjectNode machine(Device dev) {
        ObjectNode m = JSON.createObjectNode();
        m.put("cores", Runtime.getRuntime().availableProcessors());
        m.put("cpu", cpuModel());
        m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch"));
        m.put("javaVersion", System.getProperty("java.version"));
        m.put("javaVm", System.getProperty("java.vm.name") + " " + System.getProperty("java.vm.version"));
        m.put("maxHeapBytes", Runtime.getRuntime().maxMemory());
        m.put("device", dev.toString());
        Engine engine = Engine.getInstance();
        m.put("engine", engine.getEngineName() + " " + engine.getVersion());
        m.put("djlVersion", Engine.getDjlVersion());
        String threads = System.getProperty("ai.djl.pytorch.num_threads", System.getenv("OMP_NUM_THREADS"));
        m.put("engineThreads", threads == null ? "engine default" : threads);
        return m;
    }

    private static String cpuModel() {
        try {
            return Files.readAllLines(Path.of("/proc/cpuinfo")).stream()
                    .filter(l -> l.startsWith("model name"))
                    .map(l -> l.substring(l.indexOf(':') + 1).trim())
                    .findFirst().orElse("unknown");
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }
}
