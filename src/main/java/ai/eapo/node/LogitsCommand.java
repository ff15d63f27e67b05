package ai.eapo.node;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.eapo.UserInputException;
import ai.eapo.model.Checkpoint;
import ai.eapo.model.PolicyModel;
import ai.eapo.model.SafeTensors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code logits --model DIR --ids 3,17,42 --out FILE.safetensors}: the logits at every position of one sequence. */
@Command(name = "logits", mixinStandardHelpOptions = true,
        description = "Write the logits [ids, vocab] of one token sequence as an F32 tensor named 'logits'.")
final class LogitsCommand implements Callable<Integer> {

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--ids", required = true, split = ",", description = "Comma-separated token ids.")
    long[] ids;

    @Option(names = "--out", required = true, description = "Output .safetensors file.")
    Path out;

    @Override
    public Integer call() throws Exception {
        try (PolicyModel model = Checkpoint.load(modelOptions.model, modelOptions.device());
             NDManager m = NDManager.newBaseManager(model.device())) {
            int vocab = model.config().vocabSize();
            for (int i = 0; i < ids.length; i++) {
                if (ids[i] < 0 || ids[i] >= vocab) {
                    throw new UserInputException("--ids: id " + ids[i] + " at position " + i
                            + " is outside the vocabulary [0, " + vocab + ")");
                }
            }
            NDArray logits = model.logits(m.create(ids, new Shape(1, ids.length))).squeeze(0);
            SafeTensors.write(out, Map.of("logits", logits), "F32");
            System.out.println("wrote logits " + logits.getShape() + " to " + out);
        }
        return 0;
    }
}
