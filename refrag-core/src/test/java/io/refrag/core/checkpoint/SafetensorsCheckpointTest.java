package io.refrag.core.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.refrag.core.exception.ModelLoadException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Reading tensors never lets native code touch a file that can shrink underneath it. */
class SafetensorsCheckpointTest {
    @TempDir
    Path tmp;

    @Test
    void aFileTruncatedAfterOpeningGivesAClearErrorInsteadOfACrash() throws Exception {
        Path file = tmp.resolve("w.safetensors");
        float[] values = new float[4096];
        for (int i = 0; i < values.length; i++) {
            values[i] = i;
        }
        new SafetensorsWriter().add("w", values, 64, 64).add("b", new float[] {1, 2}, 2).write(file);
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.openFile(file)) {
            assertArrayEquals(values, c.readFloats("w"));
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                ch.truncate(Files.size(file) / 2); // another process shortens the file while it is open
            }
            ModelLoadException e = assertThrows(ModelLoadException.class, () -> c.readFloats("w"));
            assertTrue(e.getMessage().contains("truncated or was rewritten"), e.getMessage());
            assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("'w'"), e.getMessage());
        }
    }

    /** A safetensors file with this header and {@code dataBytes} zero bytes of data. */
    private Path raw(String name, String header, int dataBytes) throws Exception {
        byte[] h = header.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(8 + h.length + dataBytes)
                .order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        Path file = tmp.resolve(name);
        Files.write(file, b.array());
        return file;
    }

    @Test
    void malformedHeadersAreRejectedWithTheirReason() throws Exception {
        Path overlap = raw("overlap.safetensors", "{\"a\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}, "
                + "\"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [8, 16]}}", 16);
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> SafetensorsCheckpoint.openFile(overlap));
        assertTrue(e.getMessage().contains("overlap"), e.getMessage());

        Path negative = raw("negative.safetensors", "{\"a\": {\"dtype\": \"F32\", \"shape\": [-2, -2], "
                + "\"data_offsets\": [0, 16]}}", 16);
        e = assertThrows(ModelLoadException.class, () -> SafetensorsCheckpoint.openFile(negative));
        assertTrue(e.getMessage().contains("negative dimension"), e.getMessage());

        Path malformed = raw("malformed.safetensors", "{\"a\": {\"dtype\": \"F32\", \"shape\": \"x\"}}", 0);
        e = assertThrows(ModelLoadException.class, () -> SafetensorsCheckpoint.openFile(malformed));
        assertTrue(e.getMessage().contains("malformed safetensors header entry 'a'"), e.getMessage());

        Path secret = tmp.resolve("secret.txt");
        Files.writeString(secret, "password=hunter2 and more text");
        e = assertThrows(ModelLoadException.class, () -> SafetensorsCheckpoint.openFile(secret));
        assertTrue(e.getMessage().contains("is not a safetensors file"), e.getMessage());
        long firstBytes = java.nio.ByteBuffer.wrap(Files.readAllBytes(secret), 0, 8)
                .order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
        assertTrue(!e.getMessage().contains("hunter2") && !e.getMessage().contains(Long.toString(firstBytes)),
                "the file's bytes are not echoed: " + e.getMessage());

        Files.createDirectories(tmp.resolve("sharded"));
        Files.writeString(tmp.resolve("sharded/" + SafetensorsCheckpoint.INDEX_FILE), "{\"weight_map\": 5}");
        e = assertThrows(ModelLoadException.class, () -> SafetensorsCheckpoint.openFolder(tmp.resolve("sharded")));
        assertTrue(e.getMessage().contains("weight_map"), e.getMessage());
    }
}
