package io.refrag.core.checkpoint;

import ai.djl.ndarray.types.DataType;
import io.refrag.core.exception.ModelLoadException;

/** Safetensors element types refrag-java reads and writes, with their DJL counterpart. */
public enum TensorDType {
    /** 32-bit IEEE float. */
    F32(4, DataType.FLOAT32),
    /** 16-bit IEEE float. */
    F16(2, DataType.FLOAT16),
    /** bfloat16 (upper half of a float32). */
    BF16(2, DataType.BFLOAT16),
    /** 64-bit signed integer (e.g. position_ids buffers). */
    I64(8, DataType.INT64);

    private final int bytes;
    private final DataType djl;

    TensorDType(int bytes, DataType djl) {
        this.bytes = bytes;
        this.djl = djl;
    }

    /** @return bytes per element */
    public int bytes() {
        return bytes;
    }

    /** @return the DJL data type */
    public DataType djl() {
        return djl;
    }

    /**
     * @param name the safetensors dtype string
     * @param tensor the tensor's name, for the error message
     * @return the matching type
     * @throws ModelLoadException for types refrag-java does not read
     */
    public static TensorDType parse(String name, String tensor) {
        for (TensorDType t : values()) {
            if (t.name().equals(name)) {
                return t;
            }
        }
        throw new ModelLoadException("tensor '" + tensor + "' has dtype " + name + "; supported: F32, F16, BF16, I64");
    }
}
