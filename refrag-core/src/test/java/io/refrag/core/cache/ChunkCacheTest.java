package io.refrag.core.cache;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.refrag.core.checkpoint.AtomicFiles;
import io.refrag.core.checkpoint.SafetensorsWriter;
import io.refrag.core.chunk.ChunkEmbedder;
import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.testing.FakeEncoder;
import io.refrag.core.testing.FakeProjector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
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
        try (DiskChunkCache c = new DiskChunkCache(dir, 2, 3)) {
            for (int i = 0; i < 5; i++) {
                c.put("k" + i, new float[] {i, i + 0.5f});
            }
            assertArrayEquals(new float[] {4, 4.5f}, c.get("k4")); // still buffered
        }
        // a crash mid-write leaves only a temporary file, never a partial segment; a user's own .tmp file stays
        Files.writeString(dir.resolve(AtomicFiles.TEMP_PREFIX + "segment-crashed.safetensors123.tmp"), "half a file");
        Files.writeString(dir.resolve(".notes.tmp"), "mine");
        try (DiskChunkCache c = new DiskChunkCache(dir, 2, 3)) {
            assertEquals(5, c.size());
            for (int i = 0; i < 5; i++) {
                assertArrayEquals(new float[] {i, i + 0.5f}, c.get("k" + i));
            }
            assertNull(c.get("other"));
        }
        try (var files = Files.list(dir)) {
            assertEquals(List.of(".notes.tmp"), files.map(f -> f.getFileName().toString())
                    .filter(n -> n.endsWith(".tmp")).toList(), "only the cache's own leftovers are removed");
        }
    }

    /** Writes three entries in one segment and returns its file. */
    private static Path oneSegment(Path dir) throws Exception {
        try (DiskChunkCache c = new DiskChunkCache(dir, 3, 10)) {
            c.put("a", new float[] {1, 2, 3});
            c.put("b", new float[] {4, 5, 6});
            c.put("c", new float[] {7, 8, 9});
        }
        try (var files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".safetensors")).findFirst().orElseThrow();
        }
    }

    @Test
    void aCorruptedEntryIsAMissAndItsSegmentIsQuarantinedNotServed() throws Exception {
        Path dir = tmp.resolve("flipped");
        Path segment = oneSegment(dir);
        byte[] bytes = Files.readAllBytes(segment);
        bytes[bytes.length - 2] ^= 0x5A; // flip bits in the last entry's data
        Files.write(segment, bytes);
        try (DiskChunkCache c = new DiskChunkCache(dir, 3, 10)) {
            List<float[]> values = new ArrayList<>();
            for (String k : List.of("a", "b", "c")) {
                values.add(c.get(k));
            }
            assertTrue(values.stream().anyMatch(Objects::isNull), "the damaged entry is not served");
            for (float[] v : values) {
                assertTrue(v == null || v[0] == 1 || v[0] == 4 || v[0] == 7, "no wrong values are served");
            }
            assertTrue(Files.exists(segment.resolveSibling(segment.getFileName() + ".quarantined")));
            assertNull(c.get("a"), "the whole segment is out");
            c.put("a", new float[] {1, 2, 3}); // recomputed by the caller and stored again
        }
        try (DiskChunkCache c = new DiskChunkCache(dir, 3, 10)) {
            assertArrayEquals(new float[] {1, 2, 3}, c.get("a"));
        }
    }

    @Test
    void badFilesInTheFolderAreQuarantinedAndTheCacheStillOpens() throws Exception {
        Path dir = tmp.resolve("junk");
        Path good = oneSegment(dir);
        Files.write(dir.resolve("junk.safetensors"), new byte[] {9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9});
        Files.write(dir.resolve("empty.safetensors"), new byte[0]);
        Files.createDirectories(dir.resolve("folder.safetensors"));
        byte[] whole = Files.readAllBytes(good);
        Files.write(dir.resolve("truncated.safetensors"), Arrays.copyOf(whole, whole.length / 2));
        new SafetensorsWriter().add("old", new float[] {1, 2, 3}, 3).write(dir.resolve("unchecked.safetensors"));
        try (DiskChunkCache narrower = new DiskChunkCache(tmp.resolve("narrow"), 2, 1)) {
            narrower.put("n", new float[] {1, 2}); // a segment of width 2, copied in from another model's cache
        }
        try (var files = Files.list(tmp.resolve("narrow"))) {
            Files.copy(files.findFirst().orElseThrow(), dir.resolve("width2.safetensors"));
        }
        try (DiskChunkCache c = new DiskChunkCache(dir, 3, 10)) {
            assertArrayEquals(new float[] {4, 5, 6}, c.get("b"));
            assertNull(c.get("old"), "entries without a checksum are not trusted");
            assertNull(c.get("n"), "entries of another width are not served");
            assertThrows(InvalidRequestException.class, () -> c.put("d", new float[] {1, 2}));
        }
        for (String name : List.of("junk", "empty", "truncated", "unchecked", "width2")) {
            assertTrue(Files.exists(dir.resolve(name + ".safetensors.quarantined")), name);
        }
        assertTrue(Files.isDirectory(dir.resolve("folder.safetensors")), "a folder is skipped, not moved");
    }

    @Test
    void aFolderThatCannotBeCreatedLeavesAWorkingMemoryOnlyCache() throws Exception {
        Path notAFolder = tmp.resolve("file");
        Files.writeString(notAFolder, "x");
        try (DiskChunkCache disk = new DiskChunkCache(notAFolder.resolve("cache"), 1, 1)) {
            disk.put("k", new float[] {1});
            assertNull(disk.get("k"), "nothing persists");
            TieredChunkCache t = new TieredChunkCache(new LruChunkCache(10), disk);
            t.put("k", new float[] {2});
            assertArrayEquals(new float[] {2}, t.get("k"), "the memory tier still serves");
        }
    }

    @Test
    void tieredCachePromotesDiskHits() {
        try (DiskChunkCache disk = new DiskChunkCache(tmp.resolve("t"), 1, 10)) {
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
