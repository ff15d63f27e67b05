package ai.eapo.node;

import ai.eapo.UserInputException;
import ai.eapo.data.ProblemSet;
import ai.eapo.model.PolicyTokenizer;
import ai.eapo.model.SamplingParams;
import ai.eapo.training.MicroBatching;
import ai.eapo.training.SynchronousTrainer;
import ai.eapo.training.TaskPrompts;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;

/** Options shared by the training commands: data, batch, schedule of evaluations, output. */
final class TrainingOptions {

    @Option(names = "--data", defaultValue = "data/synthetic/train.jsonl", description = "Training problems (default: ${DEFAULT-VALUE}).")
    Path data;

    @Option(names = "--test", defaultValue = "data/synthetic/test.jsonl", description = "Held-out problems (default: ${DEFAULT-VALUE}).")
    Path test;

    @Option(names = "--steps", required = true, description = "Optimizer steps.")
    int steps;

    @Option(names = "--prompts-per-step", defaultValue = "16", description = "default: ${DEFAULT-VALUE}")
    int promptsPerStep;

    @Option(names = "--lr", description = "Learning rate (default: eapo.algorithm.optimizer.lr).")
    Double learningRate;

    @Option(names = "--eval-every", defaultValue = "50", description = "default: ${DEFAULT-VALUE}")
    int evalEvery;

    @Option(names = "--eval-size", defaultValue = "200", description = "Held-out problems per evaluation (default: ${DEFAULT-VALUE}).")
    int evalSize;

    @Option(names = "--seed", defaultValue = "0", description = "default: ${DEFAULT-VALUE}")
    long seed;

    @Option(names = "--out", required = true, description = "Output model directory (HF layout).")
    Path out;

    @Option(names = "--task", description = "math or countdown: the reward function (eapo.train.task).")
    String task;

    Config config() {
        Config c = ConfigFactory.load();
        if (learningRate != null) {
            c = ConfigFactory.parseString("eapo.algorithm.optimizer.lr = " + learningRate).withFallback(c);
        }
        if (task != null) {
            c = ConfigFactory.parseMap(java.util.Map.of(ai.eapo.verify.AnswerChecker.TASK_KEY, task)).withFallback(c);
        }
        return c;
    }

    /** The first {@code --eval-size} held-out problems. */
    List<ProblemSet.Problem> heldOut() {
        List<ProblemSet.Problem> all = ProblemSet.read(test);
        return all.subList(0, Math.min(all.size(), evalSize));
    }

    SynchronousTrainer.Options loopOptions(Config c) {
        return rolloutOptions(c, seed);
    }

    /**
     * The {@code eapo.rollout} settings, for the synchronous loop and the actor pipeline alike. Temperature 0 is
     * refused: greedy rollouts have no behaviour distribution to weight by, and a group of identical answers no
     * advantage (eval and generate accept it).
     */
    static SynchronousTrainer.Options rolloutOptions(Config c, long seed) {
        Config r = c.getConfig("eapo.rollout");
        SamplingParams sampling = new SamplingParams(r.getDouble("temperature"), r.getDouble("top-p"),
                r.getInt("top-k"));
        if (sampling.greedy()) {
            throw new UserInputException("eapo.rollout.temperature = 0 (greedy decoding) cannot train: a greedy "
                    + "rollout has no sampling distribution for the importance weights, and its group no spread of "
                    + "answers; set a temperature > 0 (1.0 is usual). Temperature 0 is for eval and generate.");
        }
        return new SynchronousTrainer.Options(r.getInt("max-new-tokens"), sampling, MicroBatching.fromConfig(c),
                r.getInt("decode-batch-size"), seed);
    }

    /**
     * How problems become model input: {@code eapo.data.prompt-template}, a template with {@code {prompt}} or
     * the name of one of {@code eapo.data.prompt-templates} ({@code plain}, {@code boxed}, {@code qwen-chat}).
     */
    static TaskPrompts prompts(Config c, PolicyTokenizer tokenizer) {
        String template = c.getString("eapo.data.prompt-template");
        Config named = c.getConfig("eapo.data.prompt-templates");
        if (!template.contains(TaskPrompts.PLACEHOLDER) && named.hasPath(template)) {
            template = named.getString(template);
        }
        return new TaskPrompts(tokenizer, template);
    }
}
