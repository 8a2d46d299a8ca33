package io.refrag.core.cache;

import io.refrag.core.checkpoint.SafetensorsWriter;
import io.refrag.core.exception.InvalidRequestException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ChunkStoreTest {
    private static final ChunkStoreFingerprint PRINT = new ChunkStoreFingerprint("tok", "bert:abc:F32:CLS", "mlp-1", 8,
            4);

    @TempDir
    Path dir;

    private static Map<String, float[]> entries(String prefix, int n) {
        Map<String, float[]> m = new TreeMap<>();
        for (int i = 0; i < n; i++) {
            m.put(prefix + i, new float[] {i, i + 0.5f, -i, 1f / (i + 1)});
        }
        return m;
    }

    private Path segment(Map<String, float[]> entries) throws IOException {
        Path file = dir.resolve(ChunkStoreLayout.SEGMENTS).resolve(ChunkStoreLayout.segmentName(
                List.copyOf(entries.keySet())));
        Files.createDirectories(file.getParent());
        try (OutputStream out = Files.newOutputStream(file)) {
            ChunkStoreLayout.writeSegment(entries, out);
        }
        return file;
    }

    private void fingerprint(ChunkStoreFingerprint f) throws IOException {
        Files.writeString(dir.resolve(ChunkStoreLayout.FINGERPRINT_FILE), f.toJson());
    }

    @Test
    void entriesAreReadAndCountedAndNothingIsWritten() throws IOException {
        fingerprint(PRINT);
        segment(entries("a", 3));
        segment(entries("b", 2));
        try (ChunkStore store = ChunkStore.open(dir, PRINT)) {
            assertEquals(5, store.size());
            assertArrayEquals(new float[] {2, 2.5f, -2, 1f / 3}, store.get("a2"));
            assertArrayEquals(new float[] {1, 1.5f, -1, 0.5f}, store.get("b1"));
            assertNull(store.get("c0"));
            store.put("c0", new float[4]);
            assertNull(store.get("c0"), "serving never writes the store");
            assertEquals(2, store.hits());
            assertEquals(2, store.misses());
            assertEquals(0, store.damaged());
        }
        try (var files = Files.list(dir.resolve(ChunkStoreLayout.SEGMENTS))) {
            assertEquals(2, files.count());
        }
    }

    @Test
    void aDamagedEntryIsAMissAndCountedAndItsNeighboursStillServe() throws IOException {
        fingerprint(PRINT);
        Map<String, float[]> e = entries("a", 3);
        Path file = segment(e);
        long dataStart = 8 + ByteBuffer.wrap(Files.readAllBytes(file), 0, 8).order(ByteOrder.LITTLE_ENDIAN)
                .getLong();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {0x7f}), dataStart + 16 + 2); // inside a1 (a0 is bytes 0-15)
        }
        byte[] before = Files.readAllBytes(file);
        try (ChunkStore store = ChunkStore.open(dir, PRINT)) {
            assertNull(store.get("a1"));
            assertNull(store.get("a1"));
            assertArrayEquals(e.get("a0"), store.get("a0"));
            assertArrayEquals(e.get("a2"), store.get("a2"));
            assertEquals(2, store.damaged());
            assertEquals(2, store.misses());
        }
        assertArrayEquals(before, Files.readAllBytes(file), "a damaged segment stays as it is: serving never writes");
    }

    @Test
    void segmentsOfAnotherWidthOrWithoutChecksumsAreSkipped() throws IOException {
        fingerprint(PRINT);
        segment(Map.of("wide", new float[5]));
        Path plain = dir.resolve(ChunkStoreLayout.SEGMENTS).resolve("seg-plain.safetensors");
        new SafetensorsWriter().add("plain", new float[4], 4).write(plain);
        Files.writeString(dir.resolve(ChunkStoreLayout.SEGMENTS).resolve("seg-junk.safetensors"), "not a segment");
        segment(entries("ok", 1));
        try (ChunkStore store = ChunkStore.open(dir, PRINT)) {
            assertEquals(1, store.size());
            assertNull(store.get("wide"));
            assertNull(store.get("plain"));
        }
    }

    @Test
    void aStoreForAnotherPipelineIsRefusedNamingWhatDiffers() throws IOException {
        fingerprint(PRINT);
        ChunkStoreFingerprint otherK = new ChunkStoreFingerprint("tok", "bert:abc:F32:CLS", "mlp-1", 16, 4);
        InvalidRequestException e = assertThrows(InvalidRequestException.class, () -> ChunkStore.open(dir, otherK));
        assertTrue(e.getMessage().contains("k 8 in the store, 16 in this pipeline"), e.getMessage());
        ChunkStoreFingerprint otherProjector = new ChunkStoreFingerprint("tok", "bert:abc:F32:CLS", "mlp-2", 8, 4);
        e = assertThrows(InvalidRequestException.class, () -> ChunkStore.open(dir, otherProjector));
        assertTrue(e.getMessage().contains("projector mlp-1 in the store, mlp-2 in this pipeline"), e.getMessage());
        e = assertThrows(InvalidRequestException.class, () -> ChunkStore.open(dir.resolve("none"), PRINT));
        assertTrue(e.getMessage().contains("not a chunk store"), e.getMessage());
        Files.writeString(dir.resolve(ChunkStoreLayout.FINGERPRINT_FILE), "{\"format\": 9, \"content\": \"x\"}");
        e = assertThrows(InvalidRequestException.class, () -> ChunkStore.open(dir, PRINT));
        assertTrue(e.getMessage().contains("format 9"), e.getMessage());
    }

    @Test
    void aSegmentIsNamedAndWrittenByItsEntriesAlone() throws IOException {
        Map<String, float[]> e = entries("k", 4);
        ByteArrayOutputStream first = new ByteArrayOutputStream();
        ByteArrayOutputStream second = new ByteArrayOutputStream();
        ChunkStoreLayout.writeSegment(e, first);
        ChunkStoreLayout.writeSegment(new TreeMap<>(e), second);
        assertArrayEquals(first.toByteArray(), second.toByteArray());
        assertEquals(List.copyOf(e.keySet()), ChunkStoreLayout.keys(new ByteArrayInputStream(first.toByteArray()),
                "seg"));
        List<String> keys = List.copyOf(e.keySet());
        assertEquals(ChunkStoreLayout.segmentName(keys), ChunkStoreLayout.segmentName(List.copyOf(keys)));
        assertNotEquals(ChunkStoreLayout.segmentName(keys), ChunkStoreLayout.segmentName(keys.subList(0, 3)));
        byte[] huge = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40).array();
        InvalidRequestException ex = assertThrows(InvalidRequestException.class,
                () -> ChunkStoreLayout.keys(new ByteArrayInputStream(huge), "seg-x"));
        assertTrue(ex.getMessage().contains("seg-x"), ex.getMessage());
    }
}
