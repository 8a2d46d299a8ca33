package io.refrag.core.checkpoint;

import io.refrag.core.exception.ModelLoadException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Widening of 16-bit float formats to float32 on the host (DJL 0.35.1's PyTorch JNI cannot create BF16 arrays). */
final class HalfFloats {
    private HalfFloats() {
    }

    /**
     * @param src little-endian raw tensor bytes
     * @param dtype their element type (F32, F16 or BF16)
     * @param name tensor name for errors
     * @return the values as floats
     */
    static float[] toFloat32(ByteBuffer src, TensorDType dtype, String name) {
        ByteBuffer in = src.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int n = in.remaining() / dtype.bytes();
        float[] out = new float[n];
        switch (dtype) {
            case F32 -> in.asFloatBuffer().get(out);
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = Float.intBitsToFloat((in.getShort() & 0xFFFF) << 16);
                }
            }
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = halfToFloat(in.getShort());
                }
            }
            default -> throw new ModelLoadException("tensor '" + name + "' has dtype " + dtype
                    + " where a floating-point tensor (F32, F16, BF16) is required");
        }
        return out;
    }

    /**
     * Widens BF16 bytes into a new direct float32 buffer (native order) without a Java-heap copy of the whole tensor.
     *
     * @param src little-endian BF16 bytes
     * @return a direct buffer of float32 values in native order
     */
    static ByteBuffer bf16ToFloat32Direct(ByteBuffer src) {
        ByteBuffer in = src.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int n = in.remaining() / 2;
        ByteBuffer out = ByteBuffer.allocateDirect(n * 4).order(ByteOrder.nativeOrder());
        for (int i = 0; i < n; i++) {
            out.putInt((in.getShort() & 0xFFFF) << 16);
        }
        return out.flip();
    }

    /**
     * @param h IEEE 754 binary16 bits
     * @return the value as float
     */
    static float halfToFloat(short h) {
        int bits = h & 0xFFFF;
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1F;
        int mant = bits & 0x3FF;
        if (exp == 0x1F) {
            return Float.intBitsToFloat(sign | 0x7F800000 | (mant << 13));
        }
        if (exp == 0) {
            if (mant == 0) {
                return Float.intBitsToFloat(sign);
            }
            float v = mant / 1024f / 16384f;
            return sign == 0 ? v : -v;
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }
}
