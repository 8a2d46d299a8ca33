package io.refrag.decoder.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * RoPE as HF computes it: {@code inv_freq} (with llama3 or linear scaling) and per-forward cos/sin tables of
 * {@code [seq, headDim]} (the two halves repeated), applied with {@code rotate_half}; or, for a few rows, the same
 * rotation as one matrix per row.
 */
final class LlamaRotaryEmbedding {
    /** Rows up to which a forward pass rotates with matrices (decode steps) rather than cos/sin tables. */
    static final int MATRIX_ROWS = 16;

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
     * @return the rotation of positions {@code [start, start + len)}
     */
    Rotation at(NDManager manager, int start, int len, DataType type) {
        int[] positions = new int[len];
        for (int p = 0; p < len; p++) {
            positions[p] = start + p;
        }
        return at(manager, positions, type);
    }

    /**
     * @param manager owner of the tables (the step's)
     * @param positions one position per row (a batch of requests, each at its own position)
     * @param type compute type
     * @return the rotation of those positions: as matrices for up to {@value #MATRIX_ROWS} rows, else as cos/sin tables
     */
    Rotation at(NDManager manager, int[] positions, DataType type) {
        return at(manager, positions, type, positions.length <= MATRIX_ROWS);
    }

    /**
     * @param manager owner of the tables (the step's)
     * @param positions one position per row
     * @param type compute type
     * @return the rotation of those positions as cos/sin tables, whatever the row count
     */
    Rotation tables(NDManager manager, int[] positions, DataType type) {
        return at(manager, positions, type, false);
    }

    private Rotation at(NDManager manager, int[] positions, DataType type, boolean matrices) {
        int half = headDim / 2;
        int len = positions.length;
        float[] cos = matrices ? null : new float[len * headDim];
        float[] sin = matrices ? null : new float[len * headDim];
        float[] rot = matrices ? new float[len * headDim * headDim] : null;
        for (int p = 0; p < len; p++) {
            int row = p * headDim;
            int r0 = row * headDim; // rot[p] is [headDim (in), headDim (out)]
            for (int i = 0; i < half; i++) {
                double angle = (double) positions[p] * invFreq[i];
                float c = (float) Math.cos(angle);
                float s = (float) Math.sin(angle);
                if (matrices) {
                    rot[r0 + i * headDim + i] = c; // out_i = x_i cos - x_{i+half} sin
                    rot[r0 + (half + i) * headDim + i] = -s;
                    rot[r0 + (half + i) * headDim + half + i] = c; // out_{i+half} = x_{i+half} cos + x_i sin
                    rot[r0 + i * headDim + half + i] = s;
                } else {
                    cos[row + i] = c;
                    cos[row + half + i] = c;
                    sin[row + i] = s;
                    sin[row + half + i] = s;
                }
            }
        }
        if (matrices) {
            return new Rotation(null, null,
                    manager.create(rot, new Shape(len, headDim, headDim)).toType(type, false));
        }
        Shape shape = new Shape(len, headDim);
        return new Rotation(manager.create(cos, shape).toType(type, false),
                manager.create(sin, shape).toType(type, false), null);
    }

    /**
     * RoPE for one forward pass's positions, shared by all layers: {@code x * cos + rotate_half(x) * sin}. For a
     * decode step (a few rows) it is one batched product with a {@code [headDim, headDim]} rotation per row, which
     * replaces the six small operations of {@code rotate_half} in every layer.
     *
     * @param cos {@code [rows, headDim]}, or null
     * @param sin {@code [rows, headDim]}, or null
     * @param matrices {@code [rows, headDim, headDim]}, or null
     */
    record Rotation(NDArray cos, NDArray sin, NDArray matrices) {
        /**
         * @param x {@code [heads, rows, headDim]}
         * @return x rotated, {@code [heads, rows, headDim]}
         */
        NDArray apply(NDArray x) {
            if (matrices != null) {
                return x.transpose(1, 0, 2).matMul(matrices).transpose(1, 0, 2); // per row: [heads, hd] @ [hd, hd]
            }
            NDList halves = x.split(2, x.getShape().dimension() - 1);
            NDArray rotated = halves.get(1).neg().concat(halves.get(0), -1); // rotate_half
            return x.mul(cos).add(rotated.mul(sin));
        }
    }
}
