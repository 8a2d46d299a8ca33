package io.refrag.spark;

import io.refrag.core.Refrag;
import io.refrag.core.RefragManifest;
import io.refrag.core.RefragResult;
import io.refrag.core.cache.ChunkStore;
import io.refrag.core.cache.ChunkStoreLayout;
import io.refrag.core.cache.DiskChunkCache;
import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.model.ModelOptions;
import io.refrag.core.testing.SharedModels;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The corpus job in Spark's local mode (2 threads, up to 4 attempts per task), on the shared small corpus and the
 * shipped model; its store read by the pipeline and by {@code generate} processes.
 */
class CorpusJobIT {
    private static final String QUESTION = "Where does City_1 lie?";
    private static SparkSession spark;
    private static Path model;
    private static Path work;
    private static Path smallStore;
    private static CorpusJob.Summary small;
    private static Path subset;
    private static Path subsetStore;

    @BeforeAll
    static void encodeTheSmallCorpus() throws IOException {
        model = SharedModels.shippedModel();
        work = Files.createTempDirectory("refrag-spark-it");
        spark = SparkSession.builder().master("local[2,4]").appName("CorpusJobIT")
                .config("spark.ui.enabled", "false")
                .config("spark.sql.shuffle.partitions", "8")
                .getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
        smallStore = work.resolve("small-store");
        small = run(JobOptions.of(model.toString(), SharedModels.path("data/corpus_small.txt").toString(),
                smallStore.toString()));
        subset = work.resolve("subset.txt");
        Files.write(subset, lines().subList(0, 60));
        subsetStore = work.resolve("subset-store");
        run(JobOptions.of(model.toString(), subset.toString(), subsetStore.toString()).withSegmentEntries(100));
    }

    @AfterAll
    static void stop() {
        if (spark != null) {
            spark.stop();
        }
    }

    private static CorpusJob.Summary run(JobOptions options) {
        CorpusJob.Summary s = CorpusJob.run(spark, options, line -> System.out.println("refrag-spark: " + line));
        CorpusJob.printSummary(s, System.out);
        return s;
    }

    private static List<String> lines() throws IOException {
        return Files.readAllLines(SharedModels.path("data/corpus_small.txt"), StandardCharsets.UTF_8);
    }

    private static List<Path> segments(Path store) throws IOException {
        try (Stream<Path> files = Files.list(store.resolve(ChunkStoreLayout.SEGMENTS))) {
            return files.filter(f -> f.getFileName().toString().endsWith(ChunkStoreLayout.SUFFIX)).sorted().toList();
        }
    }

    private static List<String> keys(Path segment) throws IOException {
        try (InputStream in = Files.newInputStream(segment)) {
            return ChunkStoreLayout.keys(in, segment.toString());
        }
    }

    private static Refrag open(Path store) {
        RefragManifest m = RefragManifest.read(model);
        return Refrag.open(store == null ? m : m.withChunkStore(store), ModelOptions.defaults());
    }

    @Test
    void theSmallCorpusBecomesAStoreThatServesEveryChunkToConcurrentProcesses() throws Exception {
        assertEquals(500, small.passages());
        assertTrue(small.chunks() > 4_000, "chunks " + small.chunks());
        assertEquals(small.chunks(), small.encoded(), "a new store encodes every distinct chunk once");
        assertEquals(0, small.alreadyStored());
        assertFalse(Files.exists(smallStore.resolve(ChunkStoreLayout.TEMP)), "temporary files are cleaned");
        List<Path> segments = segments(smallStore);
        assertEquals(small.segments(), segments.size());
        Set<String> all = new TreeSet<>();
        int entries = 0;
        for (Path segment : segments) {
            List<String> keys = keys(segment);
            assertEquals(ChunkStoreLayout.segmentName(keys), segment.getFileName().toString(), "named by its keys");
            all.addAll(keys);
            entries += keys.size();
        }
        assertEquals(small.chunks(), entries);
        assertEquals(entries, all.size(), "no chunk is stored twice");

        Path context = work.resolve("context.txt");
        Files.write(context, lines().subList(0, 5));
        List<Process> replicas = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            replicas.add(generate(context, smallStore)); // two processes read the store at once
        }
        Process onTheFly = generate(context, null);
        String fromStoreA = json(replicas.get(0));
        String fromStoreB = json(replicas.get(1));
        String computed = json(onTheFly);
        int total = intField(computed, "totalChunks");
        assertTrue(total > 10, computed);
        assertEquals(0, intField(computed, "cacheHits"), computed);
        for (String fromStore : List.of(fromStoreA, fromStoreB)) {
            assertEquals(total, intField(fromStore, "cacheHits"), "every chunk from the store: " + fromStore);
            assertEquals(total, intField(fromStore, "totalChunks"));
            assertEquals(stringField(computed, "text"), stringField(fromStore, "text"),
                    "the same answer as with embeddings computed on the fly");
        }
    }

    private static Process generate(Path context, Path store) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dai.djl.offline=true", "-jar", SharedModels.repo("refrag-bench/target/refrag-bench.jar").toString(),
                "generate", "--model", model.toString(), "--context-file", context.toString(), "--question", QUESTION,
                "--max-new-tokens", "24", "--json"));
        if (store != null) {
            cmd.addAll(List.of("--chunk-store", store.toString()));
        }
        return new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    }

    private static String json(Process p) throws Exception {
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "generate did not finish");
        assertEquals(0, p.exitValue(), out);
        return out.lines().reduce((a, b) -> b).orElseThrow();
    }

    private static int intField(String json, String name) {
        return com.google.gson.JsonParser.parseString(json).getAsJsonObject().get(name).getAsInt();
    }

    private static String stringField(String json, String name) {
        return com.google.gson.JsonParser.parseString(json).getAsJsonObject().get(name).getAsString();
    }

    @Test
    void storeEntriesEqualTheSingleMachinePrecompute() throws IOException {
        Path cacheDir = work.resolve("precompute-cache");
        List<String> passages = lines().subList(0, 30);
        try (Refrag refrag = Refrag.open(RefragManifest.read(model).withCacheDir(cacheDir)
                .withChunkStore(subsetStore), ModelOptions.defaults())) {
            refrag.precompute(passages, 8, null);
        }
        int compared = 0;
        try (Refrag refrag = open(subsetStore);
                DiskChunkCache cache = new DiskChunkCache(cacheDir, refrag.decoder().info().hiddenSize(), 1024)) {
            ChunkStore store = refrag.chunkStore().orElseThrow();
            try (Stream<Path> files = Files.list(cacheDir)) {
                for (Path f : files.filter(f -> f.toString().endsWith(".safetensors")).toList()) {
                    for (String key : keys(f)) {
                        float[] precomputed = cache.get(key);
                        float[] stored = store.get(key);
                        assertNotNull(stored, "the store holds every chunk precompute encoded");
                        for (int i = 0; i < stored.length; i++) {
                            assertEquals(precomputed[i], stored[i], 1e-6, key + "[" + i + "]");
                        }
                        compared++;
                    }
                }
            }
        }
        assertTrue(compared > 300, "compared " + compared);
    }

    @Test
    void jsonlAndParquetCorporaGiveTheStoreTheTextCorpusGives() throws IOException {
        List<String> lines = Files.readAllLines(subset);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            rows.add(RowFactory.create("p" + i, lines.get(i)));
        }
        StructType schema = new StructType().add("id", DataTypes.StringType).add("text", DataTypes.StringType);
        Dataset<Row> passages = spark.createDataFrame(rows, schema);
        Path jsonl = work.resolve("passages.jsonl");
        Path parquet = work.resolve("passages.parquet");
        passages.coalesce(1).write().json(jsonl.toString());
        passages.write().parquet(parquet.toString());
        List<String> expected = segments(subsetStore).stream().map(p -> p.getFileName().toString()).toList();
        for (Path corpus : List.of(jsonl, parquet)) {
            Path store = work.resolve("store-of-" + corpus.getFileName());
            CorpusJob.Summary s = run(JobOptions.of(model.toString(), corpus.toString(), store.toString())
                    .withSegmentEntries(100));
            assertEquals(lines.size(), s.passages(), corpus.toString());
            assertEquals(expected, segments(store).stream().map(p -> p.getFileName().toString()).toList(),
                    corpus + " holds the same chunks");
        }
        Path noText = work.resolve("no-text.parquet");
        passages.select("id").write().parquet(noText.toString());
        InvalidRequestException e = assertThrows(InvalidRequestException.class, () -> run(JobOptions.of(
                model.toString(), noText.toString(), work.resolve("never").toString())));
        assertTrue(e.getMessage().contains("no string column 'text'"), e.getMessage());
    }

    @Test
    void aRerunEncodesNothing() throws IOException {
        List<Path> before = segments(subsetStore);
        CorpusJob.Summary again = run(JobOptions.of(model.toString(), subset.toString(), subsetStore.toString())
                .withSegmentEntries(100));
        assertEquals(0, again.encoded());
        assertEquals(again.chunks(), again.alreadyStored());
        assertEquals(0, again.segments());
        assertEquals(before, segments(subsetStore));
    }

    @Test
    void aTaskThatFailsAndIsRetriedLeavesTheStoreACleanRunWrites() throws IOException {
        AtomicInteger failedTasks = new AtomicInteger();
        SparkListener listener = new SparkListener() {
            @Override
            public void onTaskEnd(SparkListenerTaskEnd end) {
                if (!end.taskInfo().successful()) {
                    failedTasks.incrementAndGet();
                }
            }
        };
        spark.sparkContext().addSparkListener(listener);
        Path faulty = work.resolve("faulty-store");
        try {
            CorpusJob.Summary s = run(JobOptions.of(model.toString(), subset.toString(), faulty.toString())
                    .withSegmentEntries(100).withFailureInjectedInto(0));
            assertEquals(s.chunks(), s.encoded());
        } finally {
            spark.sparkContext().removeSparkListener(listener);
        }
        assertTrue(failedTasks.get() >= 1, "the injected failure happened");
        assertFalse(Files.exists(faulty.resolve(ChunkStoreLayout.TEMP)), "the half-written file is gone");
        List<String> clean = segments(subsetStore).stream().map(p -> p.getFileName().toString()).toList();
        assertEquals(clean, segments(faulty).stream().map(p -> p.getFileName().toString()).toList(),
                "the same segments, none twice");
        try (Refrag a = open(subsetStore); Refrag b = open(faulty)) {
            ChunkStore x = a.chunkStore().orElseThrow();
            ChunkStore y = b.chunkStore().orElseThrow();
            assertEquals(x.size(), y.size());
            for (Path segment : segments(faulty)) {
                for (String key : keys(segment)) {
                    float[] u = x.get(key);
                    float[] v = y.get(key);
                    for (int i = 0; i < u.length; i++) {
                        assertEquals(u[i], v[i], 1e-6);
                    }
                }
            }
        }
    }

    @Test
    void aStoreBuiltForAnotherKOrProjectorIsRefused() {
        InvalidRequestException job = assertThrows(InvalidRequestException.class, () -> run(JobOptions.of(
                model.toString(), subset.toString(), subsetStore.toString()).withK(16)));
        assertTrue(job.getMessage().contains("k 8 in the store, 16 in this pipeline"), job.getMessage());
        InvalidRequestException serving = assertThrows(InvalidRequestException.class, () -> Refrag.open(
                RefragManifest.read(model).withProjector(null).withChunkStore(subsetStore), ModelOptions.defaults()));
        assertTrue(serving.getMessage().contains("projector"), serving.getMessage());
        assertTrue(serving.getMessage().contains(subsetStore.toString()), serving.getMessage());
    }

    @Test
    void damagedEntriesAreMissesThatAreCountedAndNeverChangeTheAnswer() throws IOException {
        Path copy = work.resolve("damaged-store");
        Files.createDirectories(copy.resolve(ChunkStoreLayout.SEGMENTS));
        Files.copy(subsetStore.resolve(ChunkStoreLayout.FINGERPRINT_FILE), copy.resolve(
                ChunkStoreLayout.FINGERPRINT_FILE));
        int width;
        try (Refrag refrag = open(null)) {
            width = refrag.decoder().info().hiddenSize();
        }
        for (Path segment : segments(subsetStore)) {
            Path target = copy.resolve(ChunkStoreLayout.SEGMENTS).resolve(segment.getFileName());
            Files.copy(segment, target);
            long dataStart = 8 + ByteBuffer.wrap(Files.readAllBytes(target), 0, 8).order(ByteOrder.LITTLE_ENDIAN)
                    .getLong();
            int entries = keys(target).size();
            try (FileChannel ch = FileChannel.open(target, StandardOpenOption.WRITE)) {
                for (int e = 0; e < entries; e += 2) { // every other entry gets a flipped byte
                    ch.write(ByteBuffer.wrap(new byte[] {0x55}), dataStart + (long) e * width * Float.BYTES + 5);
                }
            }
        }
        List<String> passages = lines().subList(0, 5);
        RefragResult computed;
        try (Refrag refrag = open(null)) {
            computed = refrag.generate(QUESTION, passages);
        }
        try (Refrag refrag = open(copy)) {
            RefragResult r = refrag.generate(QUESTION, passages);
            ChunkStore store = refrag.chunkStore().orElseThrow();
            assertTrue(store.damaged() > 0, "some of the request's chunks were damaged");
            assertEquals(r.totalChunks(), r.cacheHits() + store.damaged(), "each damaged entry was encoded instead");
            assertEquals(store.damaged(), store.misses());
            assertEquals(computed.text(), r.text());
        }
    }
}
