package ai.eapo.model;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import ai.eapo.UserInputException;
import com.typesafe.config.Config;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Locale;

/**
 * The dtype of the weights nothing trains and of the computation over them ({@code eapo.model.dtype}): a LoRA
 * run's frozen base, sampler replicas, the prior, the KL reference. Trainable weights (a full-parameter learner's,
 * every adapter), gradients, optimizer state, log-softmax and the loss stay fp32 whatever this says.
 *
 * <p>A model computes in its weights' dtype: in fp16, RMSNorm statistics, attention softmax and the logits run in
 * fp32 (as Hugging Face's Qwen2 does), and the KV cache is fp16. bfloat16 is refused: on this stack (DJL 0.35.1
 * and 0.36.0, libtorch 2.7.1) any BFLOAT16 NDArray aborts the JVM, so bf16 checkpoints load as fp16 or fp32.
 * fp16 is a GPU type: libtorch's CPU half-precision matmul was measured at about 1 GFLOP/s against 118 for fp32,
 * so on a CPU device it is allowed with a warning only.
 */
public enum InferencePrecision {
    FLOAT32(DataType.FLOAT32),
    FLOAT16(DataType.FLOAT16);

    public static final String KEY = "eapo.model.dtype";
    private static final Logger LOG = LoggerFactory.getLogger(InferencePrecision.class);

    private final DataType dataType;

    InferencePrecision(DataType dataType) {
        this.dataType = dataType;
    }

    public DataType dataType() {
        return dataType;
    }

    /** Bytes of one element: of a weight, of a KV cache entry. */
    public int bytes() {
        return dataType.getNumOfBytes();
    }

    /** {@code eapo.model.dtype} for a model on {@code device}. */
    public static InferencePrecision fromConfig(Config config, Device device) {
        return parse(config.getString(KEY), device);
    }

    /**
     * {@code auto} (fp16 on a GPU, fp32 on a CPU), {@code float32} or {@code float16}; anything else, bfloat16
     * included, is refused with the reason.
     */
    public static InferencePrecision parse(String value, Device device) {
        boolean gpu = device.isGpu();
        InferencePrecision chosen = switch (value.toLowerCase(Locale.ROOT)) {
            case "auto" -> gpu ? FLOAT16 : FLOAT32;
            case "float32", "fp32" -> FLOAT32;
            case "float16", "fp16" -> FLOAT16;
            case "bfloat16", "bf16" -> throw new UserInputException(KEY + " = " + value + " is not supported: any "
                    + "BFLOAT16 tensor aborts the JVM with DJL's PyTorch engine (DJL 0.35.1 and 0.36.0, libtorch "
                    + "2.7.1); bf16 checkpoints load as float16 (use it on GPUs) or float32");
            default -> throw new UserInputException(KEY + " = '" + value + "' is not a dtype: use auto, float32 or "
                    + "float16");
        };
        if (chosen == FLOAT16 && !gpu) {
            LOG.warn("{} = float16 on a CPU device: libtorch's CPU half-precision matmul ran at about 1 GFLOP/s "
                    + "against 118 for float32 on our machines, so decoding is some 100 times slower; float16 is "
                    + "meant for GPU nodes", KEY);
        }
        return chosen;
    }
}
