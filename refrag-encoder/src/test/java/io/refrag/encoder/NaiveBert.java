package io.refrag.encoder;

import io.refrag.core.checkpoint.SafetensorsCheckpoint;
import io.refrag.core.json.JsonConfig;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** Independent float64 BERT/RoBERTa forward for one unpadded sequence, in plain loops. */
final class NaiveBert {
    private final BertConfig c;
    private final SafetensorsCheckpoint w;
    private final String prefix;
    private final Map<String, float[]> cache = new HashMap<>();

    NaiveBert(Path folder, String prefix) {
        this.c = BertConfig.from(JsonConfig.read(folder));
        this.w = SafetensorsCheckpoint.openFolder(folder);
        this.prefix = prefix;
    }

    /** Last hidden states {@code [seq][hidden]}. */
    double[][] lastHidden(int[] ids) {
        int h = c.hiddenSize();
        int seq = ids.length;
        // RoBERTa: position ids start after padding_idx; BERT: from 0 (HF create_position_ids_from_input_ids)
        int firstPosition = c.modelType().equals("bert") ? 0 : c.padTokenId() + 1;
        double[][] x = new double[seq][h];
        for (int t = 0; t < seq; t++) {
            for (int i = 0; i < h; i++) {
                x[t][i] = f("embeddings.word_embeddings.weight")[ids[t] * h + i]
                        + f("embeddings.position_embeddings.weight")[(firstPosition + t) * h + i]
                        + f("embeddings.token_type_embeddings.weight")[i];
            }
            x[t] = layerNorm(x[t], "embeddings.LayerNorm");
        }
        int hd = c.headDim();
        for (int layer = 0; layer < c.numHiddenLayers(); layer++) {
            String l = "encoder.layer." + layer + ".";
            double[][] q = new double[seq][];
            double[][] k = new double[seq][];
            double[][] v = new double[seq][];
            for (int t = 0; t < seq; t++) {
                q[t] = linear(x[t], l + "attention.self.query", h);
                k[t] = linear(x[t], l + "attention.self.key", h);
                v[t] = linear(x[t], l + "attention.self.value", h);
            }
            double[][] next = new double[seq][];
            for (int t = 0; t < seq; t++) {
                double[] ctx = new double[h];
                for (int head = 0; head < c.numAttentionHeads(); head++) {
                    double[] s = new double[seq];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < seq; j++) {
                        for (int d = 0; d < hd; d++) {
                            s[j] += q[t][head * hd + d] * k[j][head * hd + d];
                        }
                        s[j] /= Math.sqrt(hd);
                        max = Math.max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < seq; j++) {
                        s[j] = Math.exp(s[j] - max);
                        sum += s[j];
                    }
                    for (int j = 0; j < seq; j++) {
                        for (int d = 0; d < hd; d++) {
                            ctx[head * hd + d] += s[j] / sum * v[j][head * hd + d];
                        }
                    }
                }
                double[] attn = add(linear(ctx, l + "attention.output.dense", h), x[t]);
                attn = layerNorm(attn, l + "attention.output.LayerNorm");
                double[] inter = linear(attn, l + "intermediate.dense", c.intermediateSize());
                for (int i = 0; i < inter.length; i++) {
                    inter[i] = 0.5 * inter[i] * (1 + erf(inter[i] / Math.sqrt(2)));
                }
                next[t] = layerNorm(add(linear(inter, l + "output.dense", h), attn), l + "output.LayerNorm");
            }
            x = next;
        }
        return x;
    }

    private double[] linear(double[] x, String module, int out) {
        float[] wt = f(module + ".weight");
        float[] b = f(module + ".bias");
        double[] y = new double[out];
        for (int o = 0; o < out; o++) {
            double s = b[o];
            for (int i = 0; i < x.length; i++) {
                s += wt[o * x.length + i] * x[i];
            }
            y[o] = s;
        }
        return y;
    }

    private double[] layerNorm(double[] x, String module) {
        double mean = 0;
        for (double d : x) {
            mean += d;
        }
        mean /= x.length;
        double var = 0;
        for (double d : x) {
            var += (d - mean) * (d - mean);
        }
        var /= x.length;
        float[] g = f(module + ".weight");
        float[] b = f(module + ".bias");
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = (x[i] - mean) / Math.sqrt(var + c.layerNormEps()) * g[i] + b[i];
        }
        return y;
    }

    private static double[] add(double[] a, double[] b) {
        double[] y = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            y[i] = a[i] + b[i];
        }
        return y;
    }

    /** Abramowitz-Stegun 7.1.26 is too coarse for 1e-5 checks; use a series/continued-fraction erf. */
    static double erf(double x) {
        double t = Math.abs(x);
        double r;
        if (t < 3) {
            double sum = 0;
            double term = t;
            for (int n = 0; n < 100; n++) {
                sum += term / (2 * n + 1);
                term *= -t * t / (n + 1);
            }
            r = 2 / Math.sqrt(Math.PI) * sum;
        } else {
            r = 1 - Math.exp(-t * t) / (t * Math.sqrt(Math.PI)) * (1 - 1 / (2 * t * t) + 3 / (4 * t * t * t * t));
        }
        return x < 0 ? -r : r;
    }

    private float[] f(String name) {
        return cache.computeIfAbsent(name, n -> w.readFloats(prefix + n));
    }
}
