package io.refrag.core.checkpoint;

import io.refrag.core.exception.ModelLoadException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
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

    /**
     * A content hash of files, independent of where they lie: SHA-256 over each file's name, length and bytes, in the
     * order given. Two copies of a model in different folders (or on different machines) hash alike.
     *
     * @param files the files
     * @return 64 hex digits
     * @throws ModelLoadException if a file cannot be read
     */
    public static String sha256(List<Path> files) {
        MessageDigest sha = newSha256();
        byte[] buf = new byte[1 << 16];
        for (Path f : files) {
            try (InputStream in = Files.newInputStream(f)) {
                sha.update(f.getFileName().toString().getBytes(StandardCharsets.UTF_8));
                sha.update(ByteBuffer.allocate(Long.BYTES).putLong(Files.size(f)).array());
                for (int n; (n = in.read(buf)) > 0; ) {
                    sha.update(buf, 0, n);
                }
            } catch (IOException e) {
                throw new ModelLoadException("cannot read " + f + " to hash it: " + e.getMessage(), e);
            }
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    /** @return a new SHA-256 digest (every Java platform has one) */
    public static MessageDigest newSha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by every Java platform", e);
        }
    }
}
