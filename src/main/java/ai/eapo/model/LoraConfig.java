package ai.eapo.model;

import ai.eapo.UserInputException;
import com.typesafe.config.Config;

import java.util.List;
import java.util.Map;

/**
 * Low-rank adapters (LoRA, Hu et al. 2021, as PEFT implements them): each targeted linear map W of every layer
 * becomes {@code W x + (alpha / rank) · B A x} with A [rank, in] and B [out, rank] trainable and W frozen. B starts
 * at zero, so a fresh adapter leaves the model exactly as it was.
 *
 * @param rank r ≥ 1
 * @param alpha the numerator of the scaling alpha / r, &gt; 0
 * @param dropout PEFT's lora_dropout; only 0 is supported (written to adapter_config.json as such)
 * @param targetModules which linear maps get adapters: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj
 */
public record LoraConfig(int rank, double alpha, double dropout, List<String> targetModules) {

    public static final String KEY = "eapo.model.lora";

    /** Module name → where its weight lives in a layer ({@code model.layers.N.} + this + {@code .weight}). */
    static final Map<String, String> MODULES = Map.of(
            "q_proj", "self_attn.q_proj", "k_proj", "self_attn.k_proj", "v_proj", "self_attn.v_proj",
            "o_proj", "self_attn.o_proj", "gate_proj", "mlp.gate_proj", "up_proj", "mlp.up_proj",
            "down_proj", "mlp.down_proj");

    public LoraConfig {
        if (rank < 1) {
            throw new UserInputException(KEY + ".rank must be >= 1 (0 turns LoRA off), got " + rank);
        }
        if (!(alpha > 0) || Double.isInfinite(alpha)) {
            throw new UserInputException(KEY + ".alpha must be a finite number > 0, got " + alpha);
        }
        if (dropout != 0) {
            throw new UserInputException(KEY + ".dropout = " + dropout + " is not supported: the learner's forward "
                    + "pass has no training mode to drop in; use 0");
        }
        if (targetModules.isEmpty()) {
            throw new UserInputException(KEY + ".target-modules is empty: name at least one of " + MODULES.keySet());
        }
        for (String m : targetModules) {
            if (!MODULES.containsKey(m)) {
                throw new UserInputException(KEY + ".target-modules has '" + m + "'; the modules are "
                        + MODULES.keySet());
            }
        }
        targetModules = List.copyOf(targetModules);
    }

    /** The adapters of {@code eapo.model.lora}, or null when its rank is 0 (full-parameter training). */
    public static LoraConfig fromConfig(Config config) {
        Config c = config.getConfig(KEY);
        int rank = c.getInt("rank");
        if (rank == 0) {
            return null;
        }
        return new LoraConfig(rank, c.getDouble("alpha"), c.getDouble("dropout"), c.getStringList("target-modules"));
    }

    /** alpha / r: how much of B A x is added. */
    public double scaling() {
        return alpha / rank;
    }
}
