package io.refrag.core.checkpoint;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HexFormat;
import java.util.zip.CRC32;

/**
 * Per-tensor checksums kept in a safetensors file's metadata ({@value #PREFIX}{@code <tensor>} = CRC-32 of its F32
 * little-endian bytes, 8 hex digits), so that flipped bytes are found before the values are used
 * ({@link SafetensorsWriter#addChecked}, {@link SafetensorsCheckpoint#readCheckedFloats}).
 */
public final class Checksums {
    /** The metadata key prefix. */
    public static final String PREFIX = "refrag.crc32.";

    private Checksums() {
    }

    /**
     * @param values a tensor's values
     * @return the CRC-32 of their F32 little-endian bytes, as 8 hex digits
     */
    public static String crc32(float[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        CRC32 crc = new CRC32();
        crc.update(b);
        return HexFormat.of().toHexDigits((int) crc.getValue());
    }
}
