package io.refrag.core.tensor;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.refrag.core.exception.InvalidRequestException;

import java.util.Arrays;
import java.util.function.IntFunction;

/**
 * Array helpers: conversions between Java rows and arrays, and a scalar product that stays correct under autograd.
 *
 * <p>DJL's PyTorch engine turns a Java number operand ({@code x.mul(0.5f)}) into a temporary tensor that aliases a
 * Java buffer and closes it right after the op. Autograd saves the operand of a product or quotient for the backward
 * pass, which then reads freed memory (sporadically huge or NaN gradients). Model code that may run under autograd
 * multiplies by scalars through {@link #scale} instead, whose scalar tensor owns its memory natively.
 */
public final class Tensors {
    private Tensors() {
    }

    /**
     * @param x any array
     * @param factor the scalar
     * @return {@code x * factor}, safe to differentiate, owned by x's manager
     */
    public static NDArray scale(NDArray x, float factor) {
        return x.mul(x.getManager().full(new Shape(), factor, x.getDataType()));
    }

    /**
     * Per-token negative log-likelihood, written once for scoring and training.
     *
     * @param logits {@code [n, vocab]}
     * @param targets {@code [n]} token ids
     * @return {@code [n, 1]} the NLL of each target (differentiable)
     */
    public static NDArray tokenNll(NDArray logits, NDArray targets) {
        return logits.logSoftmax(-1).gather(targets.reshape(logits.getShape().get(0), 1), 1).neg();
    }

    /**
     * Java rows into one array: how vectors from the public API enter a model.
     *
     * @param m the owner
     * @param rows {@code [n][width]}
     * @param width the width every row must have
     * @param badRow the error message for the index of a row of another width
     * @return float32 {@code [n, width]}
     * @throws InvalidRequestException with that message for the first row of another width
     */
    public static NDArray fromRows(NDManager m, float[][] rows, int width, IntFunction<String> badRow) {
        float[] flat = new float[rows.length * width];
        for (int i = 0; i < rows.length; i++) {
            if (rows[i].length != width) {
                throw new InvalidRequestException(badRow.apply(i));
            }
            System.arraycopy(rows[i], 0, flat, i * width, width);
        }
        return m.create(flat, new Shape(rows.length, width));
    }

    /**
     * One array into Java rows: how vectors leave a model for the public API.
     *
     * @param a a 2-D array {@code [n, width]} of any float type
     * @return its rows as float32
     */
    public static float[][] toRows(NDArray a) {
        int n = Math.toIntExact(a.getShape().get(0));
        int width = Math.toIntExact(a.getShape().get(1));
        float[] flat = a.toType(DataType.FLOAT32, false).toFloatArray();
        float[][] rows = new float[n][];
        for (int i = 0; i < n; i++) {
            rows[i] = Arrays.copyOfRange(flat, i * width, (i + 1) * width);
        }
        return rows;
    }
}
