package io.refrag.core.checkpoint;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * Where one tensor lives in a safetensors file.
 *
 * @param name the tensor's checkpoint name
 * @param dtype element type
 * @param shape dimensions
 * @param file the file holding it
 * @param begin first byte, relative to the data section
 * @param end one past the last byte, relative to the data section
 */
public record TensorInfo(String name, TensorDType dtype, long[] shape, Path file, long begin, long end) {

    /** @return number of elements */
    public long elementCount() {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** @return the shape as text, e.g. {@code [512, 64]} */
    public String shapeText() {
        return Arrays.toString(shape);
    }
}
