package ai.eapo.model;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A deliberately naive, independent forward pass of the Hugging Face Qwen2 / Qwen3 / LLaMA decoders, in plain
 * Java doubles with explicit loops (no DJL arithmetic), written from the HF modeling-code semantics:
 *
 * <pre>
 * x = embed_tokens[ids]
 * per layer:  h = RMSNorm(x; input_layernorm)
 *             q,k,v = h·Wᵀ (+ bias when attention_bias; Qwen2 always)   split into heads of head_dim
 *             Qwen3: q,k = RMSNorm over head_dim (q_norm / k_norm), before RoPE
 *             RoPE (rotate-half): inv_freq_i = 1/theta^(2i/d); angle = pos·cat(inv_freq, inv_freq)
 *                                 x·cos + cat(-x2, x1)·sin
 *             head h attends with kv head h / (heads/kvHeads), causal softmax(q·k / sqrt(d))
 *             x += o_proj(concat heads) (+ o_proj bias when attention_bias, except Qwen2)
 *             h = RMSNorm(x; post_attention_layernorm);  x += down(silu(gate h) * up h)
 * logits = RMSNorm(x; norm) · (lm_head or embed_tokens when tied)ᵀ
 * </pre>
 *
 * It reads config.json with its own parsing (not {@link ModelConfig}) and only uses {@link SafeTensors} to
 * decode weight bytes. {@link Flaw}s plant typical implementation mistakes so tests can show that a comparison
 * against this reference would catch them.
 */
final class ReferenceTransformer {

    /** Deliberate mistakes, used only to prove that the variant tests are sensitive to each code path. */
    enum Flaw {
        /** GPT-J style interleaved pairs instead of HF rotate-half. */
        ROPE_INTERLEAVED,
        /** No rotary embedding at all. */
        NO_ROPE,
        /** Query head h uses kv head h % kvHeads instead of h / groups. */
        GQA_MODULO,
        /** Skip Qwen3 q_norm / k_norm. */
        NO_QK_NORM,
        /** Ignore q/k/v (and o) biases. */
        NO_BIAS,
        /** Ignore the weights of the layer RMSNorms (treat them as ones). */
        NO_NORM_WEIGHT,
        /** Use the embedding matrix as output head even when lm_head is untied. */
        ALWAYS_TIED,
        /** Attend to future positions too. */
        NO_CAUSAL_MASK
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    final String modelType;
    final int vocab;
    final int hidden;
    final int intermediate;
    final int layers;
    final int heads;
    final int kvHeads;
    final int headDim;
    final double theta;
    final double eps;
    final boolean tied;
    final boolean qkvBias;
    final boolean oBias;
    final boolean mlpBias;
    final boolean qkNorm;
    private final Map<String, float[]> weights = new HashMap<>();
    private final Map<String, long[]> shapes = new HashMap<>();
    private final Set<Flaw> flaws;

    private ReferenceTransformer(JsonNode c, Set<Flaw> flaws) {
        this.flaws = flaws;
        modelType = c.path("model_type").asText();
        if (!Set.of("qwen2", "qwen3", "llama").contains(modelType)) {
            throw new IllegalArgumentException("reference does not implement model_type " + modelType);
        }
        vocab = c.get("vocab_size").asInt();
        hidden = c.get("hidden_size").asInt();
        intermediate = c.get("intermediate_size").asInt();
        layers = c.get("num_hidden_layers").asInt();
        heads = c.get("num_attention_heads").asInt();
        kvHeads = c.hasNonNull("num_key_value_heads") ? c.get("num_key_value_heads").asInt() : heads;
        headDim = c.hasNonNull("head_dim") ? c.get("head_dim").asInt() : hidden / heads;
        theta = c.hasNonNull("rope_theta") ? c.get("rope_theta").asDouble()
                : c.path("rope_parameters").path("rope_theta").asDouble(10000.0);
        eps = c.hasNonNull("rms_norm_eps") ? c.get("rms_norm_eps").asDouble() : 1e-6;
        tied = c.path("tie_word_embeddings").asBoolean(false);
        boolean attentionBias = c.path("attention_bias").asBoolean(false);
        // Qwen2: q/k/v always have a bias, o_proj never. Qwen3 / LLaMA: attention_bias covers q, k, v and o.
        qkvBias = modelType.equals("qwen2") || attentionBias;
        oBias = !modelType.equals("qwen2") && attentionBias;
        mlpBias = modelType.equals("llama") && c.path("mlp_bias").asBoolean(false);
        qkNorm = modelType.equals("qwen3");
        if (c.hasNonNull("rope_scaling")) {
            throw new IllegalArgumentException("reference implements only default RoPE");
        }
    }

    static ReferenceTransformer load(Path dir) {
        return load(dir, EnumSet.noneOf(Flaw.class));
    }

    static ReferenceTransformer load(Path dir, Set<Flaw> flaws) {
        try {
            ReferenceTransformer r = new ReferenceTransformer(JSON.readTree(dir.resolve("config.json").toFile()), flaws);
            List<Path> files = new ArrayList<>();
            Path index = dir.resolve("model.safetensors.index.json");
            if (Files.exists(index)) {
                JsonNode map = JSON.readTree(index.toFile()).get("weight_map");
                for (Iterator<String> it = map.fieldNames(); it.hasNext(); ) {
                    Path p = dir.resolve(map.get(it.next()).asText());
                    if (!files.contains(p)) {
                        files.add(p);
                    }
                }
            } else {
                files.add(dir.resolve("model.safetensors"));
            }
            try (NDManager m = NDManager.newBaseManager()) {
                for (Path p : files) {
                    try (SafeTensors.File f = SafeTensors.open(p)) {
                        for (SafeTensors.Entry e : f.entries().values()) {
                            r.weights.put(e.name(), f.load(e.name(), m).toFloatArray());
                            r.shapes.put(e.name(), e.shape());
                        }
                    }
                }
            }
            return r;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Logits [position][vocab] for one sequence. */
    double[][] logits(long[] ids) {
        int len = ids.length;
        float[] embed = weight("model.embed_tokens.weight", vocab, hidden);
        double[][] x = new double[len][hidden];
        for (int t = 0; t < len; t++) {
            int id = Math.toIntExact(ids[t]);
            for (int j = 0; j < hidden; j++) {
                x[t][j] = embed[id * hidden + j];
            }
        }
        for (int layer = 0; layer < layers; layer++) {
            String p = "model.layers." + layer + ".";
            double[][] h = new double[len][];
            for (int t = 0; t < len; t++) {
                h[t] = rmsNorm(x[t], layerNormWeight(p + "input_layernorm.weight"));
            }
            double[][] attn = attention(h, p + "self_attn.");
            for (int t = 0; t < len; t++) {
                for (int j = 0; j < hidden; j++) {
                    x[t][j] += attn[t][j];
                }
            }
            for (int t = 0; t < len; t++) {
                double[] n = rmsNorm(x[t], layerNormWeight(p + "post_attention_layernorm.weight"));
                double[] m = mlp(n, p + "mlp.");
                for (int j = 0; j < hidden; j++) {
                    x[t][j] += m[j];
                }
            }
        }
        float[] head = tied || flaws.contains(Flaw.ALWAYS_TIED)
                ? embed : weight("lm_head.weight", vocab, hidden);
        double[][] out = new double[len][];
        for (int t = 0; t < len; t++) {
            double[] n = rmsNorm(x[t], weight("model.norm.weight", hidden));
            out[t] = linear(n, head, null, vocab, hidden);
        }
        return out;
    }

    private double[][] attention(double[][] h, String p) {
        int len = h.length;
        float[] wq = weight(p + "q_proj.weight", heads * headDim, hidden);
        float[] wk = weight(p + "k_proj.weight", kvHeads * headDim, hidden);
        float[] wv = weight(p + "v_proj.weight", kvHeads * headDim, hidden);
        float[] wo = weight(p + "o_proj.weight", hidden, heads * headDim);
        boolean useBias = !flaws.contains(Flaw.NO_BIAS);
        float[] bq = qkvBias && useBias ? weight(p + "q_proj.bias", heads * headDim) : null;
        float[] bk = qkvBias && useBias ? weight(p + "k_proj.bias", kvHeads * headDim) : null;
        float[] bv = qkvBias && useBias ? weight(p + "v_proj.bias", kvHeads * headDim) : null;
        float[] bo = oBias && useBias ? weight(p + "o_proj.bias", hidden) : null;

        // [position][head][dim]
        double[][][] q = new double[len][heads][];
        double[][][] k = new double[len][kvHeads][];
        double[][][] v = new double[len][kvHeads][];
        for (int t = 0; t < len; t++) {
            double[] qt = linear(h[t], wq, bq, heads * headDim, hidden);
            double[] kt = linear(h[t], wk, bk, kvHeads * headDim, hidden);
            double[] vt = linear(h[t], wv, bv, kvHeads * headDim, hidden);
            for (int a = 0; a < heads; a++) {
                q[t][a] = slice(qt, a * headDim, headDim);
                if (qkNorm && !flaws.contains(Flaw.NO_QK_NORM)) {
                    q[t][a] = rmsNorm(q[t][a], weight(p + "q_norm.weight", headDim));
                }
                q[t][a] = rope(q[t][a], t);
            }
            for (int a = 0; a < kvHeads; a++) {
                k[t][a] = slice(kt, a * headDim, headDim);
                if (qkNorm && !flaws.contains(Flaw.NO_QK_NORM)) {
                    k[t][a] = rmsNorm(k[t][a], weight(p + "k_norm.weight", headDim));
                }
                k[t][a] = rope(k[t][a], t);
                v[t][a] = slice(vt, a * headDim, headDim);
            }
        }
        int groups = heads / kvHeads;
        double scale = 1.0 / Math.sqrt(headDim);
        double[][] out = new double[len][];
        for (int t = 0; t < len; t++) {
            double[] concat = new double[heads * headDim];
            for (int a = 0; a < heads; a++) {
                int kvHead = flaws.contains(Flaw.GQA_MODULO) ? a % kvHeads : a / groups;
                int visible = flaws.contains(Flaw.NO_CAUSAL_MASK) ? len : t + 1;
                double[] scores = new double[visible];
                double max = Double.NEGATIVE_INFINITY;
                for (int s = 0; s < visible; s++) {
                    double dot = 0;
                    for (int j = 0; j < headDim; j++) {
                        dot += q[t][a][j] * k[s][kvHead][j];
                    }
                    scores[s] = dot * scale;
                    max = Math.max(max, scores[s]);
                }
                double sum = 0;
                for (int s = 0; s < visible; s++) {
                    scores[s] = Math.exp(scores[s] - max);
                    sum += scores[s];
                }
                for (int s = 0; s < visible; s++) {
                    double pr = scores[s] / sum;
                    for (int j = 0; j < headDim; j++) {
                        concat[a * headDim + j] += pr * v[s][kvHead][j];
                    }
                }
            }
            out[t] = linear(concat, wo, bo, hidden, heads * headDim);
        }
        return out;
    }

    private double[] rope(double[] x, int position) {
        if (flaws.contains(Flaw.NO_ROPE)) {
            return x;
        }
        int d = x.length;
        int half = d / 2;
        double[] out = new double[d];
        if (flaws.contains(Flaw.ROPE_INTERLEAVED)) {
            for (int i = 0; i < half; i++) {
                double angle = position / Math.pow(theta, 2.0 * i / d);
                double a = x[2 * i];
                double b = x[2 * i + 1];
                out[2 * i] = a * Math.cos(angle) - b * Math.sin(angle);
                out[2 * i + 1] = b * Math.cos(angle) + a * Math.sin(angle);
            }
            return out;
        }
        for (int j = 0; j < d; j++) {
            int i = j % half; // emb = cat(freqs, freqs)
            double angle = position * (1.0 / Math.pow(theta, 2.0 * i / d));
            double rotated = j < half ? -x[j + half] : x[j - half]; // rotate_half = cat(-x2, x1)
            out[j] = x[j] * Math.cos(angle) + rotated * Math.sin(angle);
        }
        return out;
    }

    private double[] mlp(double[] x, String p) {
        float[] gate = weight(p + "gate_proj.weight", intermediate, hidden);
        float[] up = weight(p + "up_proj.weight", intermediate, hidden);
        float[] down = weight(p + "down_proj.weight", hidden, intermediate);
        double[] g = linear(x, gate, mlpBias ? weight(p + "gate_proj.bias", intermediate) : null, intermediate, hidden);
        double[] u = linear(x, up, mlpBias ? weight(p + "up_proj.bias", intermediate) : null, intermediate, hidden);
        double[] a = new double[intermediate];
        for (int i = 0; i < intermediate; i++) {
            double silu = g[i] / (1.0 + Math.exp(-g[i]));
            a[i] = silu * u[i];
        }
        return linear(a, down, mlpBias ? weight(p + "down_proj.bias", hidden) : null, hidden, intermediate);
    }

    private double[] rmsNorm(double[] x, float[] w) {
        double meanSquare = 0;
        for (double v : x) {
            meanSquare += v * v;
        }
        meanSquare /= x.length;
        double inv = 1.0 / Math.sqrt(meanSquare + eps);
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = x[i] * inv * (w == null ? 1.0 : w[i]);
        }
        return out;
    }

    private float[] layerNormWeight(String name) {
        float[] w = weight(name, hidden);
        return flaws.contains(Flaw.NO_NORM_WEIGHT) ? null : w;
    }

    /** y = W x + b with W [rows, cols] row-major (torch.nn.Linear layout). */
    private static double[] linear(double[] x, float[] w, float[] b, int rows, int cols) {
        if (x.length != cols) {
            throw new IllegalArgumentException("linear: input has " + x.length + " values, weight has " + cols + " columns");
        }
        double[] y = new double[rows];
        for (int r = 0; r < rows; r++) {
            double s = b == null ? 0 : b[r];
            for (int c = 0; c < cols; c++) {
                s += (double) w[r * cols + c] * x[c];
            }
            y[r] = s;
        }
        return y;
    }

    private static double[] slice(double[] x, int from, int n) {
        double[] out = new double[n];
        System.arraycopy(x, from, out, 0, n);
        return out;
    }

    private float[] weight(String name, long... shape) {
        float[] w = weights.get(name);
        if (w == null) {
            throw new IllegalStateException("reference: checkpoint has no tensor " + name);
        }
        if (!java.util.Arrays.equals(shapes.get(name), shape)) {
            throw new IllegalStateException("reference: tensor " + name + " has shape "
                    + java.util.Arrays.toString(shapes.get(name)) + ", expected " + java.util.Arrays.toString(shape));
        }
        return w;
    }

    /** Names of every tensor this reference read from the checkpoint. */
    Set<String> tensorNames() {
        return weights.keySet();
    }
}
