package io.refrag.core.cache;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.refrag.core.chunk.ChunkEmbedder;
import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.testing.FakeEncoder;
import io.refrag.core.testing.FakeProjector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

class ChunkCacheTest {
    @TempDir
    Path tmp;

    @Test
    void keysSeparateEncoderProjectorAndText() {
        String k = ChunkEmbeddingCache.key("enc", "proj", "text");
        assertEquals(64, k.length());
        assertEquals(k, ChunkEmbeddingCache.key("enc", "proj", "text"));
        assertNotEquals(k, ChunkEmbeddingCache.key("enc", "proj2", "text"));
        assertNotEquals(k, ChunkEmbeddingCache.key("enc2", "proj", "text"));
        assertNotEquals(ChunkEmbeddingCache.key("a", "bc", "d"), ChunkEmbeddingCache.key("ab", "c", "d"));
    }

    @Test
    void lruEvictsTheLeastRecentlyUsed() {
        LruChunkCache c = new LruChunkCache(2);
        c.put("a", new float[] {1});
        c.put("b", new float[] {2});
        c.get("a");
        c.put("c", new float[] {3});
        assertNull(c.get("b"));
        assertArrayEquals(new float[] {1}, c.get("a"));
        assertEquals(2, c.size());
        assertEquals(2, c.hits());
        assertEquals(1, c.misses());
        assertThrows(InvalidRequestException.class, () -> new LruChunkCache(0));
    }

    @Test
    void diskCacheSurvivesRestartsAndIgnoresCrashLeftovers() throws Exception {
        Path dir = tmp.resolve("store");
        try (DiskChunkCache c = new DiskChunkCache(dir, 3)) {
            for (int i = 0; i < 5; i++) {
                c.put("k" + i, new float[] {i, i + 0.5f});
            }
            assertArrayEquals(new float[] {4, 4.5f}, c.get("k4")); // still buffered
        }
        // a crash mid-write leaves only a temporary file, never a partial segment
        Files.writeString(dir.resolve(".segment-crashed.safetensors123.tmp"), "half a file");
        try (DiskChunkCache c = new DiskChunkCache(dir, 3)) {
            assertEquals(5, c.size());
            for (int i = 0; i < 5; i++) {
                assertArrayEquals(new float[] {i, i + 0.5f}, c.get("k" + i));
            }
            assertNull(c.get("other"));
        }
        try (var files = Files.list(dir)) {
            assertEquals(0, files.filter(f -> f.getFileName().toString().endsWith(".tmp")).count());
        }
    }

    @Test
    void tieredCachePromotesDiskHits() {
        try (DiskChunkCache disk = new DiskChunkCache(tmp.resolve("t"), 10)) {
            disk.put("x", new float[] {7});
            LruChunkCache lru = new LruChunkCache(10);
            TieredChunkCache t = new TieredChunkCache(lru, disk);
            assertArrayEquals(new float[] {7}, t.get("x"));
            assertEquals(1, lru.size());
            t.put("y", new float[] {8});
            assertArrayEquals(new float[] {8}, disk.get("y"));
        }
    }

    @Test
    void embedderEncodesEachDistinctTextOnceAndReusesTheCache() throws Exception {
        FakeEncoder enc = new FakeEncoder();
        LruChunkCache cache = new LruChunkCache(100);
        ChunkEmbedder embedder = new ChunkEmbedder(enc, new FakeProjector(), cache);
        float[][] first = embedder.embed(List.of("aa", "b", "aa"), true).rows();
        assertEquals(2, enc.encoded.get());
        assertArrayEquals(new float[] {4, 2 * 'a'}, first[0]);
        assertArrayEquals(first[0], first[2]);
        assertEquals(2, embedder.embed(List.of("b", "aa", "ccc"), true).cacheHits());
        assertEquals(3, enc.encoded.get(), "only the new text is encoded");
        embedder.embed(List.of("b"), false);
        assertEquals(4, enc.encoded.get(), "useCache=false always encodes");

        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<float[][]>> futures = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                futures.add(pool.submit(() -> embedder.embed(List.of("aa", "b", "ccc"), true).rows()));
            }
            for (Future<float[][]> f : futures) {
                assertArrayEquals(new float[] {6, 2 * 'c'}, f.get()[2]);
            }
        } finally {
            pool.shutdown();
        }
        assertEquals(4, enc.encoded.get(), "concurrent requests hit the cache");

        List<Integer> progress = new ArrayList<>();
        embedder.precompute(List.of("d", "e", "f", "g", "h"), 2, progress::add);
        assertEquals(List.of(2, 4, 5), progress);
        assertEquals(9, enc.encoded.get());
        var mismatch = assertThrows(InvalidRequestException.class,
                () -> new ChunkEmbedder(enc, new FakeProjector(3), cache));
        assertEquals("projector input size 3 does not match the encoder hidden size 2", mismatch.getMessage());
    }
}
