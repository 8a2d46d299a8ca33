package io.refrag.core.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Weights load whole or in blocks of rows with the same values, so tensors over 2 GiB load. */
class WeightLoaderTest {
    @TempDir
    Path tmp;

    @Test
    void aTensorReadInBlocksOfRowsEqualsItReadWhole() {
        float[] values = new float[10 * 6];
        for (int i = 0; i < values.length; i++) {
            values[i] = i * 0.25f - 3;
        }
        Path file = tmp.resolve("w.safetensors");
        new SafetensorsWriter().add("f32", values, 10, 6).add("bf16", TensorDType.BF16, values, 10, 6).write(file);
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.openFile(file);
                NDManager m = NDManager.newBaseManager()) {
            for (String name : new String[] {"f32", "bf16"}) {
                float[] whole = new WeightLoader(c, m, DataType.FLOAT32).load(name, 10, 6).toFloatArray();
                for (long blockBytes : new long[] {1, 40, 3 * 6 * 4, 100}) { // 1 row, 1 or 3 rows, 4 rows (last short)
                    NDArray blocks = new WeightLoader(c, m, DataType.FLOAT32, blockBytes).load(name, 10, 6);
                    assertArrayEquals(whole, blocks.toFloatArray(), name + " in blocks of " + blockBytes + " bytes");
                    assertEquals(name, blocks.getName());
                }
            }
        }
    }

    @Test
    void aTensorOverTwoGibibytesLoads() throws Exception {
        long rows = 513;
        long cols = 1L << 20; // 513 rows of 4 MiB: 2 GiB + 4 MiB of F32
        long bytes = rows * cols * 4;
        String header = "{\"big\":{\"dtype\":\"F32\",\"shape\":[" + rows + "," + cols + "],\"data_offsets\":[0," + bytes
                + "]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        Path file = tmp.resolve("big.safetensors");
        long dataStart = 8 + h.length;
        long[] marked = {0, (1L << 31) / 4 + 3, rows * cols - 1}; // first element, one past 2 GiB, last element
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).flip(), 0);
            ch.write(ByteBuffer.wrap(h), 8);
            for (int i = 0; i < marked.length; i++) { // the rest stays a sparse run of zeros
                ch.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(i + 1.5f).flip(),
                        dataStart + marked[i] * 4);
            }
        }
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.openFile(file);
                NDManager m = NDManager.newBaseManager()) {
            NDArray big = new WeightLoader(c, m, DataType.FLOAT32).load("big", rows, cols);
            for (int i = 0; i < marked.length; i++) {
                float v = big.get(new NDIndex("{}, {}", marked[i] / cols, marked[i] % cols)).getFloat();
                assertEquals(i + 1.5f, v, "element " + marked[i]);
            }
            assertEquals(3 * 1.5f + 3, big.sum().getFloat(), "every other element is zero");
        }
    }
}
