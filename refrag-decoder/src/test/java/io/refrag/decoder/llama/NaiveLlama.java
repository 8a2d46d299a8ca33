package io.refrag.decoder.llama;

import io.refrag.core.checkpoint.SafetensorsCheckpoint;
import io.refrag.core.json.JsonConfig;

import java.nio.file.Path;

/**
 * An independent float64 LLaMA forward in plain Java loops (no DJL): the reference the optimised path is checked
 * against. Reads the weights straight from the safetensors file.
 */
final class NaiveLlama {
    private final LlamaConfig c;
    private final SafetensorsCheckpoint w;
    private final double[] invFreq;
    private final java.util.Map<String, float[]> cache = new java.util.HashMap<>();

    NaiveLlama(Path folder) {
        this.c = LlamaConfig.from(JsonConfig.read(folder));
        this.w = SafetensorsCheckpoint.openFolder(folder);
        this.invFreq = LlamaRotaryEmbedding.invFreq(c);
    }

    /** Logits at every position for input-embedding rows; {@code [seq][vocab]}. */
    double[][] logits(double[][] embeds) {
        int seq = embeds.length;
        int hid = c.hiddenSize();
        int hd = c.headDim();
        double[][] h = new double[seq][];
        for (int t = 0; t < seq; t++) {
            h[t] = embeds[t].clone();
        }
        for (int layer = 0; layer < c.numHiddenLayers(); layer++) {
            String l = "model.layers." + layer + ".";
            double[][] q = new double[seq][];
            double[][] k = new double[seq][];
            double[][] v = new double[seq][];
            for (int t = 0; t < seq; t++) {
                double[] x = rmsNorm(h[t], f(l + "input_layernorm.weight"));
                q[t] = linear(x, l + "self_attn.q_proj", c.numAttentionHeads() * hd);
                k[t] = linear(x, l + "self_attn.k_proj", c.numKeyValueHeads() * hd);
                v[t] = linear(x, l + "self_attn.v_proj", c.numKeyValueHeads() * hd);
                rope(q[t], t, c.numAttentionHeads());
                rope(k[t], t, c.numKeyValueHeads());
            }
            for (int t = 0; t < seq; t++) {
                double[] merged = new double[c.numAttentionHeads() * hd];
                for (int head = 0; head < c.numAttentionHeads(); head++) {
                    int kvh = head / c.numKeyValueGroups();
                    double[] s = new double[t + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j <= t; j++) {
                        double dot = 0;
                        for (int d = 0; d < hd; d++) {
                            dot += q[t][head * hd + d] * k[j][kvh * hd + d];
                        }
                        s[j] = dot / Math.sqrt(hd);
                        max = Math.max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j <= t; j++) {
                        s[j] = Math.exp(s[j] - max);
                        sum += s[j];
                    }
                    for (int j = 0; j <= t; j++) {
                        for (int d = 0; d < hd; d++) {
                            merged[head * hd + d] += s[j] / sum * v[j][kvh * hd + d];
                        }
                    }
                }
                double[] o = linear(merged, l + "self_attn.o_proj", hid);
                for (int i = 0; i < hid; i++) {
                    h[t][i] += o[i];
                }
                double[] x = rmsNorm(h[t], f(l + "post_attention_layernorm.weight"));
                double[] gate = linear(x, l + "mlp.gate_proj", c.intermediateSize());
                double[] up = linear(x, l + "mlp.up_proj", c.intermediateSize());
                for (int i = 0; i < gate.length; i++) {
                    gate[i] = gate[i] / (1 + Math.exp(-gate[i])) * up[i];
                }
                double[] down = linear(gate, l + "mlp.down_proj", hid);
                for (int i = 0; i < hid; i++) {
                    h[t][i] += down[i];
                }
            }
        }
        String head = w.find("lm_head.weight").isPresent() ? "lm_head" : "model.embed_tokens";
        double[][] out = new double[seq][];
        for (int t = 0; t < seq; t++) {
            out[t] = linear(rmsNorm(h[t], f("model.norm.weight")), head, c.vocabSize());
        }
        return out;
    }

    double[][] embed(int[] ids) {
        float[] table = w.readFloats("model.embed_tokens.weight");
        double[][] out = new double[ids.length][c.hiddenSize()];
        for (int t = 0; t < ids.length; t++) {
            for (int i = 0; i < c.hiddenSize(); i++) {
                out[t][i] = table[ids[t] * c.hiddenSize() + i];
            }
        }
        return out;
    }

    private void rope(double[] x, int pos, int heads) {
        int hd = c.headDim();
        int half = hd / 2;
        for (int head = 0; head < heads; head++) {
            int o = head * hd;
            for (int i = 0; i < half; i++) {
                double a = pos * invFreq[i];
                double x1 = x[o + i];
                double x2 = x[o + half + i];
                x[o + i] = x1 * Math.cos(a) - x2 * Math.sin(a);
                x[o + half + i] = x2 * Math.cos(a) + x1 * Math.sin(a);
            }
        }
    }

    private double[] rmsNorm(double[] x, float[] weight) {
        double ss = 0;
        for (double d : x) {
            ss += d * d;
        }
        double inv = 1 / Math.sqrt(ss / x.length + c.rmsNormEps());
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = x[i] * inv * weight[i];
        }
        return out;
    }

    private double[] linear(double[] x, String module, int outDim) {
        float[] weight = f(module + ".weight");
        float[] bias = w.find(module + ".bias").isPresent() ? f(module + ".bias") : null;
        double[] out = new double[outDim];
        for (int o = 0; o < outDim; o++) {
            double s = bias == null ? 0 : bias[o];
            for (int i = 0; i < x.length; i++) {
                s += weight[o * x.length + i] * x[i];
            }
            out[o] = s;
        }
        return out;
    }

    private float[] f(String name) {
        return cache.computeIfAbsent(name, w::readFloats);
    }
}
