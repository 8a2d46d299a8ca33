package io.refrag.decoder.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * RoPE as HF computes it: {@code inv_freq} (with llama3 or linear scaling) and per-forward cos/sin tables of
 * {@code [seq, headDim]} (the two halves repeated), applied with {@code rotate_half}.
 */
final class LlamaRotaryEmbedding {
    private final double[] invFreq; // [headDim / 2]
    private final int headDim;

    LlamaRotaryEmbedding(LlamaConfig config) {
        this.headDim = config.headDim();
        this.invFreq = invFreq(config);
    }

    static double[] invFreq(LlamaConfig c) {
        int half = c.headDim() / 2;
        double[] f = new double[half];
        for (int i = 0; i < half; i++) {
            f[i] = 1.0 / Math.pow(c.ropeTheta(), (2.0 * i) / c.headDim());
        }
        LlamaConfig.RopeScaling s = c.ropeScaling();
        if (s == null) {
            return f;
        }
        if (s.type().equals("linear")) {
            for (int i = 0; i < half; i++) {
                f[i] /= s.factor();
            }
            return f;
        }
        // llama3: HF _compute_llama3_parameters
        double lowWavelen = s.originalMaxPositionEmbeddings() / s.lowFreqFactor();
        double highWavelen = s.originalMaxPositionEmbeddings() / s.highFreqFactor();
        for (int i = 0; i < half; i++) {
            double wavelen = 2 * Math.PI / f[i];
            if (wavelen > lowWavelen) {
                f[i] = f[i] / s.factor();
            } else if (wavelen >= highWavelen) {
                double smooth = (s.originalMaxPositionEmbeddings() / wavelen - s.lowFreqFactor())
                        / (s.highFreqFactor() - s.lowFreqFactor());
                f[i] = (1 - smooth) * f[i] / s.factor() + smooth * f[i];
            }
        }
        return f;
    }

    /**
     * @param manager owner of the tables (the step's)
     * @param start first position
     * @param len number of positions
     * @param type compute type
     * @return cos and sin, each {@code [len, headDim]}
     */
    NDList cosSin(NDManager manager, int start, int len, DataType type) {
        int[] positions = new int[len];
        for (int p = 0; p < len; p++) {
            positions[p] = start + p;
        }
        return cosSinAt(manager, positions, type);
    }

    /**
     * @param manager owner of the tables (the step's)
     * @param positions one position per row (a batch of requests, each at its own position)
     * @param type compute type
     * @return cos and sin, each {@code [positions.length, headDim]}
     */
    NDList cosSinAt(NDManager manager, int[] positions, DataType type) {
        int half = headDim / 2;
        int len = positions.length;
        float[] cos = new float[len * headDim];
        float[] sin = new float[len * headDim];
        for (int p = 0; p < len; p++) {
            int row = p * headDim;
            for (int i = 0; i < half; i++) {
                double angle = (double) positions[p] * invFreq[i];
                float c = (float) Math.cos(angle);
                float s = (float) Math.sin(angle);
                cos[row + i] = c;
                cos[row + half + i] = c;
                sin[row + i] = s;
                sin[row + half + i] = s;
            }
        }
        Shape shape = new Shape(len, headDim);
        return new NDList(manager.create(cos, shape).toType(type, false), manager.create(sin, shape).toType(type, false));
    }

    /**
     * @param x {@code [heads, seq, headDim]}
     * @param cos {@code [seq, headDim]}
     * @param sin {@code [seq, headDim]}
     * @return x rotated: {@code x * cos + rotate_half(x) * sin}
     */
    static NDArray applyRotaryPosEmb(NDArray x, NDArray cos, NDArray sin) {
        NDList halves = x.split(2, x.getShape().dimension() - 1);
        NDArray rotated = halves.get(1).neg().concat(halves.get(0), -1); // rotate_half
        return x.mul(cos).add(rotated.mul(sin));
    }
}
