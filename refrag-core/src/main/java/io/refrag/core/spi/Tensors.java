package io.refrag.core.spi;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/**
 * Array helpers that stay correct under autograd.
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
}
