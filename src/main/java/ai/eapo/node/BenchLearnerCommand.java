package ai.eapo.node;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.eapo.UserInputException;
import ai.eapo.algorithm.HyperParameters;
import ai.eapo.model.ModelConfig;
import ai.eapo.model.PolicyModel;
import ai.eapo.training.AdamW;
import ai.eapo.training.MicroBatching;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.function.Function;

/**
 * {@code bench learner}: the learner's forward + backward + AdamW update on a randomly initialised model at the
 * configured micro-batching (eapo.rollout.micro-batch-size, eapo.memory.learner-micro-batch-tokens, logits chunk,
 * recomputed layers), as achieved FLOP/s against one plain square fp32 matmul measured in the same run.
 *
 * <p>Useful FLOPs of one optimizer step over S sequences of T positions: {@code 6 · M · S · T} (forward 2, backward
 * 4 per multiply-add of the M weights in matrix products: q/k/v/o, gate/up/down, lm_head) plus attention
 * {@code 12 · layers · heads · headDim · T² · S} (Q·Kᵀ and P·V forward, twice that backward). Recomputed layers
 * and the AdamW update are work done but not counted.
 */
@Command(name = "learner", mixinStandardHelpOptions = true,
        description = "Measure the learner's forward+backward+update (tokens/s, FLOP/s) against a same-run matmul.")
public final class BenchLearnerCommand implements Callable<Integer> {

    /** The learner should reach this share of the same-run matmul FLOP/s (issue #19). */
    static final double GOAL_FRACTION_OF_MATMUL = 0.4;

    @Spec
    CommandSpec spec;

    @Option(names = "--shape", description = "A directory with a config.json (e.g. ../shared/shapes/qwen2.5-0.5b); "
            + "default: the 18.9M-parameter shape of bench decode.")
    Path shape;

    @Option(names = "--sequences", description = "Sequences per optimizer step (default: the micro-batch size, "
            + "eapo.rollout.micro-batch-size).")
    Integer sequences;

    @Option(names = "--prompt-length", defaultValue = "16", description = "default: ${DEFAULT-VALUE}")
    int promptLength;

    @Option(names = "--response-length", defaultValue = "64", description = "default: ${DEFAULT-VALUE}")
    int responseLength;

    @Option(names = "--steps", defaultValue = "3", description = "Timed optimizer steps, after one untimed (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--matmul-size", defaultValue = "1024", description = "N of the N×N fp32 reference matmul (default: ${DEFAULT-VALUE}).")
    int matmulSize;

    @Option(names = "--out", defaultValue = "results/bench-learner.json", description = "default: ${DEFAULT-VALUE}")
    Path out;

    @Option(names = "--seed", defaultValue = "0", description = "default: ${DEFAULT-VALUE}")
    long seed;

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    @Override
    public Integer call() throws IOException {
        if (steps < 1 || promptLength < 1 || responseLength < 1 || (sequences != null && sequences < 1)) {
            throw new UserInputException("--steps, --prompt-length, --response-length and --sequences must be >= 1");
        }
        PrintWriter console = spec != null ? spec.commandLine().getOut() : new PrintWriter(System.out, true);
        Config config = ConfigFactory.load();
        MicroBatching micro = MicroBatching.fromConfig(config);
        HyperParameters hyper = HyperParameters.fromConfig(config);
        ModelConfig shapeConfig = shape != null ? ModelConfig.read(shape)
                : ModelConfig.qwen2(8192, 384, 1024, 8, 6, 2, false, List.of(8191));
        int length = promptLength + responseLength; // positions fed: T = length − 1, each predicting the next token
        int positions = length - 1;
        int count = sequences != null ? sequences : micro.responses();
        // The learner's own split of equal-length sequences: every micro-batch but the last is this large.
        int perMicroBatch = micro.split(java.util.Collections.nCopies(count, positions), Integer::intValue).get(0).size();
        long weights = BenchDecodeCommand.matmulWeights(shapeConfig);
        double flopsPerStep = 6.0 * weights * count * positions + 12.0 * shapeConfig.numLayers()
                * shapeConfig.numHeads() * shapeConfig.headDim() * (double) positions * positions * count;
        console.printf("model: %s, %,d weights in matmuls; %d sequences of %d positions a step, %d per micro-batch, "
                        + "logits %d positions at a time, layers %srecomputed%n", shapeConfig.modelType(), weights, count,
                positions, perMicroBatch, micro.logitsChunk(), micro.recomputeLayers() ? "" : "not ");
        console.flush();
        Device device = Device.cpu();
        ObjectNode report = JSON.createObjectNode();
        report.put("benchmark", "learner");
        report.put("timestamp", Instant.now().toString());
        report.set("machine", BenchDecodeCommand.machine(device));
        report.put("matmulWeights", weights);
        report.put("sequences", count);
        report.put("positions", positions);
        report.put("sequencesPerMicroBatch", perMicroBatch);
        report.put("recomputeLayers", micro.recomputeLayers());
        report.put("flopsPerStep", flopsPerStep);
        report.put("flopFormula", "6*M*S*T + 12*layers*heads*headDim*T^2*S (useful FLOPs; recomputation and the "
                + "AdamW update not counted)");
        report.put("goalFractionOfMatmul", GOAL_FRACTION_OF_MATMUL);
        try (NDManager root = NDManager.newBaseManager(device);
             PolicyModel model = PolicyModel.random(shapeConfig, device, seed, 0.02f);
             AdamW optimizer = new AdamW(model, hyper.optimizer())) {
            BenchDecodeCommand.Matmul mm = BenchDecodeCommand.matmul(root, matmulSize);
            console.printf("reference matmul %d×%d fp32: %.1f GFLOP/s%n", mm.size(), mm.size(), mm.gflops());
            List<Function<NDManager, AdamW.Loss>> microBatches = microBatches(model, micro, count, perMicroBatch,
                    length, new Random(seed));
            optimizer.step(microBatches); // warm-up
            long best = Long.MAX_VALUE;
            long total = 0;
            for (int s = 0; s < steps; s++) {
                long start = System.nanoTime();
                optimizer.step(microBatches);
                long dt = System.nanoTime() - start;
                best = Math.min(best, dt);
                total += dt;
            }
            double seconds = best / 1e9;
            double gflops = flopsPerStep / seconds / 1e9;
            double fraction = gflops / mm.gflops();
            report.put("matmulGflops", mm.gflops());
            report.put("bestStepSeconds", seconds);
            report.put("meanStepSeconds", total / 1e9 / steps);
            report.put("tokensPerSecond", (double) count * positions / seconds);
            report.put("achievedGflops", gflops);
            report.put("fractionOfMatmulGflops", fraction);
            console.printf("step: %.2f s (best of %d), %.0f tokens/s, %.1f GFLOP/s = %.1f%% of the matmul (goal %.0f%%)%n",
                    seconds, steps, count * positions / seconds, gflops, 100 * fraction, 100 * GOAL_FRACTION_OF_MATMUL);
        }
        BenchDecodeCommand.writeReport(report, out, console);
        return 0;
    }

    /** Random token sequences split into micro-batches; each loss is the mean negative log-prob of the responses. */
    private List<Function<NDManager, AdamW.Loss>> microBatches(PolicyModel model, MicroBatching micro, int count,
                                                               int perMicroBatch, int length, Random random) {
        int vocab = model.config().vocabSize();
        List<Function<NDManager, AdamW.Loss>> out = new ArrayList<>();
        for (int from = 0; from < count; from += perMicroBatch) {
            int rows = Math.min(perMicroBatch, count - from);
            long[] ids = new long[rows * (length - 1)];
            long[] next = new long[rows * (length - 1)];
            float[] mask = new float[rows * (length - 1)];
            for (int r = 0; r < rows; r++) {
                long[] sequence = random.longs(length, 0, vocab).toArray();
                System.arraycopy(sequence, 0, ids, r * (length - 1), length - 1);
                System.arraycopy(sequence, 1, next, r * (length - 1), length - 1);
                for (int t = promptLength - 1; t < length - 1; t++) {
                    mask[r * (length - 1) + t] = 1f;
                }
            }
            float scale = -1f / ((float) count * responseLength);
            Shape shape = new Shape(rows, length - 1);
            out.add(m -> {
                NDArray input = m.create(ids, shape);
                NDArray targets = m.create(next, shape);
                NDArray weights = m.create(mask, shape).mul(scale);
                MicroBatching.LogProbs logProbs = micro.logProbs(model, input, targets, 1f);
                return logProbs.loss(logProbs.values().mul(weights).sum());
            });
        }
        return out;
    }
}
