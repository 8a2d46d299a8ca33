package io.refrag.core.checkpoint;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.refrag.core.exception.RefragException;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes float tensors as a safetensors file, crash-safely: the bytes go to a temporary file in the same folder
 * which is then atomically renamed over the target, so readers see the old file or the new one, never half a file.
 */
public final class SafetensorsWriter {
    private final Map<String, Entry> tensors = new TreeMap<>();
    private final Map<String, String> metadata = new TreeMap<>();

    private record Entry(TensorDType dtype, long[] shape, float[] values) {
    }

    /**
     * Adds a float32 tensor.
     *
     * @param name tensor name
     * @param values row-major values
     * @param shape dimensions; their product must equal {@code values.length}
     * @return this writer
     */
    public SafetensorsWriter add(String name, float[] values, long... shape) {
        return add(name, TensorDType.F32, values, shape);
    }

    /**
     * Adds a float32 tensor with its checksum in the metadata ({@link Checksums}).
     *
     * @param name tensor name
     * @param values row-major values
     * @param shape dimensions; their product must equal {@code values.length}
     * @return this writer
     */
    public SafetensorsWriter addChecked(String name, float[] values, long... shape) {
        return add(name, values, shape).metadata(Checksums.PREFIX + name, Checksums.crc32(values));
    }

    /**
     * Adds a tensor stored as F32, F16 or BF16 (values are narrowed on write).
     *
     * @param name tensor name
     * @param dtype storage type
     * @param values row-major values
     * @param shape dimensions
     * @return this writer
     */
    public SafetensorsWriter add(String name, TensorDType dtype, float[] values, long... shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        if (n != values.length) {
            throw new RefragException("tensor '" + name + "': shape product " + n + " != " + values.length + " values");
        }
        if (dtype == TensorDType.I64) {
            throw new RefragException("tensor '" + name + "': the writer stores float tensors only");
        }
        tensors.put(name, new Entry(dtype, shape.clone(), values));
        return this;
    }

    /**
     * @param key metadata key
     * @param value metadata value
     * @return this writer
     */
    public SafetensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    /**
     * Writes the file atomically (temp file + rename).
     *
     * @param target the destination file; its parent folder is created if needed
     */
    public void write(Path target) {
        try {
            Path dir = target.toAbsolutePath().getParent();
            Files.createDirectories(dir);
            Path tmp = AtomicFiles.tempFor(target);
            try {
                try (OutputStream out = Files.newOutputStream(tmp)) {
                    writeTo(out);
                }
                AtomicFiles.replace(tmp, target);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new RefragException("cannot write safetensors file " + target + ": " + e.getMessage(), e);
        }
    }

    /**
     * Writes the file's bytes to a stream (for stores that are not local files; the caller makes it atomic). The same
     * tensors and metadata always give the same bytes.
     *
     * @param out the stream (left open)
     * @throws IOException if the stream fails
     */
    public void writeTo(OutputStream out) throws IOException {
        JsonObject header = new JsonObject();
        JsonObject meta = new JsonObject();
        meta.addProperty("format", "pt");
        metadata.forEach(meta::addProperty);
        header.add("__metadata__", meta);
        long offset = 0;
        for (Map.Entry<String, Entry> e : tensors.entrySet()) {
            JsonObject t = new JsonObject();
            t.addProperty("dtype", e.getValue().dtype().name());
            JsonArray shape = new JsonArray();
            for (long d : e.getValue().shape()) {
                shape.add(d);
            }
            t.add("shape", shape);
            long len = (long) e.getValue().values().length * e.getValue().dtype().bytes();
            JsonArray offsets = new JsonArray();
            offsets.add(offset);
            offsets.add(offset + len);
            t.add("data_offsets", offsets);
            header.add(e.getKey(), t);
            offset += len;
        }
        byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
        out.write(len.array());
        out.write(json);
        for (int i = json.length; i < padded; i++) {
            out.write(' ');
        }
        for (Entry e : tensors.values()) {
            out.write(encode(e));
        }
    }

    private static byte[] encode(Entry e) {
        float[] v = e.values();
        ByteBuffer buf = ByteBuffer.allocate(v.length * e.dtype().bytes()).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            switch (e.dtype()) {
                case F32 -> buf.putFloat(f);
                case BF16 -> buf.putShort((short) (Float.floatToIntBits(f) >>> 16));
                case F16 -> buf.putShort(floatToHalf(f));
                default -> throw new IllegalStateException("unreachable: " + e.dtype());
            }
        }
        return buf.array();
    }

    /**
     * @param f a float
     * @return the nearest IEEE binary16 bits (round to nearest even; overflow to infinity)
     */
    static short floatToHalf(float f) {
        int bits = Float.floatToIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int exp = ((bits >>> 23) & 0xFF) - 127 + 15;
        int mant = bits & 0x7FFFFF;
        if (((bits >>> 23) & 0xFF) == 0xFF) {
            return (short) (sign | 0x7C00 | (mant != 0 ? 0x200 : 0));
        }
        if (exp >= 0x1F) {
            return (short) (sign | 0x7C00);
        }
        if (exp <= 0) {
            if (exp < -10) {
                return (short) sign;
            }
            mant |= 0x800000;
            int shift = 14 - exp;
            int half = mant >> shift;
            int rem = mant & ((1 << shift) - 1);
            int mid = 1 << (shift - 1);
            if (rem > mid || (rem == mid && (half & 1) == 1)) {
                half++;
            }
            return (short) (sign | half);
        }
        int half = (exp << 10) | (mant >> 13);
        int rem = mant & 0x1FFF;
        if (rem > 0x1000 || (rem == 0x1000 && (half & 1) == 1)) {
            half++;
        }
        return (short) (sign | half);
    }
}
