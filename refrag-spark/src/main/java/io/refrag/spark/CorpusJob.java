package io.refrag.spark;

import io.refrag.core.CorpusEncoder;
import io.refrag.core.cache.ChunkStoreFingerprint;
import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.exception.RefragException;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.util.LongAccumulator;
import org.apache.spark.util.SerializableConfiguration;
import scala.Tuple2;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.NoSuchElementException;
import java.util.TreeMap;
import java.util.function.Consumer;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.trim;

/**
 * Encodes a corpus into a chunk store on Spark. In data-flow order:
 * <ol>
 * <li>the driver loads the parts once to learn the pipeline's fingerprint, and claims the store for it;</li>
 * <li>passages are read (text, JSONL or Parquet) and cut into chunks by the library's own chunker, on the executors;
 * each chunk becomes (key, text), identical texts one key;</li>
 * <li>keys the store already holds are dropped (an anti-join with the keys of its segments), so a rerun encodes only
 * what is missing;</li>
 * <li>the rest is hash-partitioned by key and sorted within each partition: a partition's content and order are the
 * same in every attempt of its task;</li>
 * <li>each task encodes its chunks in batches and writes a segment every {@code segmentEntries} chunks (all it holds),
 * under a temporary name, then renamed to the hash of its keys: a retried or speculative attempt writes the same
 * segment under the same name.</li>
 * </ol>
 */
public final class CorpusJob {
    private CorpusJob() {
    }

    /**
     * What a run did.
     *
     * @param passages non-blank passages read
     * @param chunks distinct chunks in the corpus
     * @param alreadyStored chunks the store held before
     * @param encoded chunks encoded now
     * @param segments segments written now
     * @param seconds the run's wall time
     */
    public record Summary(long passages, long chunks, long alreadyStored, long encoded, long segments,
            double seconds) {
        /** @return chunks encoded per second of the whole run */
        public double chunksPerSecond() {
            return encoded / Math.max(seconds, 1e-9);
        }
    }

    /**
     * Runs the job.
     *
     * @param spark the session
     * @param options what to encode, and where
     * @param progress receives progress lines (passages and chunks done, chunks/s, ETA)
     * @return what it did
     * @throws InvalidRequestException for a model without an encoder, a bad k, or a store built for another pipeline
     */
    public static Summary run(SparkSession spark, JobOptions options, Consumer<String> progress) {
        long start = System.nanoTime();
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        SerializableConfiguration hadoop = new SerializableConfiguration(jsc.hadoopConfiguration());
        StoreFiles store = new StoreFiles(options.store(), hadoop.value());
        ChunkStoreFingerprint fingerprint = WorkerParts.get(options, threads(options, 1)).fingerprint();
        store.claim(fingerprint);
        store.removeTemporaries(); // what a killed earlier run left; one job writes a store at a time

        LongAccumulator passages = jsc.sc().longAccumulator("passages");
        Dataset<Row> chunks = passages(spark, options)
                .mapPartitions(chunkPassages(options, passages), Encoders.tuple(Encoders.STRING(), Encoders.STRING()))
                .toDF("key", "text")
                .dropDuplicates("key")
                .persist(StorageLevel.MEMORY_AND_DISK()); // read twice: counted, then encoded
        List<String> segments = store.segments();
        Dataset<Row> stored = spark.createDataset(segments, Encoders.STRING())
                .repartition(Math.max(1, Math.min(segments.size(), jsc.defaultParallelism())))
                .flatMap(storedKeys(options.store(), hadoop), Encoders.STRING())
                .toDF("key");
        Dataset<Row> todo = chunks.join(stored, chunks.col("key").equalTo(stored.col("key")), "left_anti");
        try {
            long total = chunks.count();
            long missing = todo.count();
            progress.accept(String.format(Locale.ROOT, "%d passages, %d distinct chunks: %d in the store, "
                    + "%d to encode", passages.value(), total, total - missing, missing));
            int partitions = (int) Math.max(jsc.defaultParallelism(),
                    Math.min(100_000, (missing + options.segmentEntries() - 1) / options.segmentEntries()));
            LongAccumulator encoded = jsc.sc().longAccumulator("chunks encoded");
            long segmentsWritten;
            try (Progress watch = new Progress(encoded, missing, progress)) {
                segmentsWritten = todo.repartition(partitions, col("key"))
                        .sortWithinPartitions("key")
                        .mapPartitions(encodePartition(options, hadoop, encoded), Encoders.LONG())
                        .collectAsList().stream().mapToLong(Long::longValue).sum();
                watch.finish();
            }
            store.removeTemporaries();
            return new Summary(passages.value(), total, total - missing, encoded.value(), segmentsWritten,
                    (System.nanoTime() - start) / 1e9);
        } finally {
            chunks.unpersist();
        }
    }

    /** The corpus as one column {@code text} of non-blank passages. */
    private static Dataset<Row> passages(SparkSession spark, JobOptions options) {
        Dataset<Row> raw = switch (options.format()) {
            case TEXT -> spark.read().text(options.corpus()).withColumnRenamed("value", "text");
            case JSONL -> spark.read().json(options.corpus());
            case PARQUET -> spark.read().parquet(options.corpus());
        };
        if (!List.of(raw.columns()).contains("text")
                || !raw.schema().apply("text").dataType().equals(DataTypes.StringType)) {
            throw new InvalidRequestException("corpus " + options.corpus() + " (" + options.format() + ") has no "
                    + "string column 'text'; its columns: " + raw.schema().simpleString());
        }
        return raw.select(col("text")).where(col("text").isNotNull().and(trim(col("text")).notEqual("")));
    }

    private static MapPartitionsFunction<Row, Tuple2<String, String>> chunkPassages(JobOptions options,
            LongAccumulator passages) {
        return rows -> {
            CorpusEncoder parts = WorkerParts.get(options, threads(options, TaskContext.get().cpus()));
            List<Tuple2<String, String>> out = new ArrayList<>();
            return new Iterator<>() {
                private int next;

                @Override
                public boolean hasNext() {
                    while (next == out.size() && rows.hasNext()) {
                        out.clear();
                        next = 0;
                        for (String text : parts.chunkTexts(rows.next().getString(0))) {
                            out.add(new Tuple2<>(parts.key(text), text));
                        }
                        passages.add(1);
                    }
                    return next < out.size();
                }

                @Override
                public Tuple2<String, String> next() {
                    if (!hasNext()) {
                        throw new NoSuchElementException();
                    }
                    return out.get(next++);
                }
            };
        };
    }

    private static FlatMapFunction<String, String> storedKeys(String store,
            SerializableConfiguration hadoop) {
        return segment -> new StoreFiles(store, hadoop.value()).keys(segment).iterator();
    }

    /** Encodes a partition (sorted by key) and writes its segments; returns how many it wrote. */
    private static MapPartitionsFunction<Row, Long> encodePartition(JobOptions options,
            SerializableConfiguration hadoop, LongAccumulator encoded) {
        return rows -> {
            PartitionEncoder partition = new PartitionEncoder(options, hadoop, encoded);
            while (rows.hasNext()) {
                Row row = rows.next();
                partition.add(row.getString(0), row.getString(1));
            }
            return List.of(partition.finish()).iterator();
        };
    }

    /**
     * One task's encoder: chunks gather into a batch, a batch is encoded into the open segment, a full segment is
     * committed. Holds at most one segment's entries and one batch.
     */
    private static final class PartitionEncoder {
        private final JobOptions options;
        private final LongAccumulator encoded;
        private final CorpusEncoder parts;
        private final StoreFiles store;
        private final TaskContext task = TaskContext.get();
        private final TreeMap<String, float[]> segment = new TreeMap<>();
        private final List<String> keys = new ArrayList<>();
        private final List<String> texts = new ArrayList<>();
        private long segments;

        PartitionEncoder(JobOptions options, SerializableConfiguration hadoop, LongAccumulator encoded) {
            this.options = options;
            this.encoded = encoded;
            this.parts = WorkerParts.get(options, threads(options, task.cpus()));
            this.store = new StoreFiles(options.store(), hadoop.value());
        }

        void add(String key, String text) {
            keys.add(key);
            texts.add(text);
            if (keys.size() == options.batchSize() || segment.size() + keys.size() == options.segmentEntries()) {
                encodeBatch();
                if (segment.size() == options.segmentEntries()) {
                    commit();
                }
            }
        }

        long finish() {
            if (!keys.isEmpty()) {
                encodeBatch();
            }
            if (!segment.isEmpty()) {
                commit();
            }
            return segments;
        }

        private void encodeBatch() {
            float[][] rows = parts.embed(texts);
            for (int i = 0; i < keys.size(); i++) {
                segment.put(keys.get(i), rows[i]);
            }
            encoded.add(keys.size());
            keys.clear();
            texts.clear();
        }

        private void commit() {
            store.commitSegment(segment);
            segment.clear();
            segments++;
            if (task.partitionId() == options.failFirstAttemptOf() && task.attemptNumber() == 0) {
                store.abandonPartialSegment(1000);
                throw new RefragException("injected failure in partition " + task.partitionId() + ", attempt "
                        + task.attemptNumber() + " (fault-injection test)");
            }
        }
    }

    private static int threads(JobOptions options, int taskCpus) {
        return options.threads() > 0 ? options.threads() : Math.max(1, taskCpus);
    }

    /** Prints progress every few seconds from the driver: chunks encoded (as tasks report them), chunks/s, ETA. */
    private static final class Progress implements AutoCloseable {
        private final Thread thread;
        private final LongAccumulator done;
        private final long total;
        private final Consumer<String> out;
        private final long start = System.nanoTime();

        Progress(LongAccumulator done, long total, Consumer<String> out) {
            this.done = done;
            this.total = total;
            this.out = out;
            this.thread = new Thread(this::loop, "refrag-spark-progress");
            thread.setDaemon(true);
            thread.start();
        }

        private void loop() {
            try {
                while (!Thread.currentThread().isInterrupted()) {
                    Thread.sleep(5_000);
                    report();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        private void report() {
            long n = done.value();
            double seconds = (System.nanoTime() - start) / 1e9;
            double rate = n / Math.max(seconds, 1e-9);
            String eta = n >= total ? "0 s"
                    : n == 0 ? "unknown" : String.format(Locale.ROOT, "%.0f s", (total - n) / rate);
            out.accept(String.format(Locale.ROOT, "chunks encoded %d / %d (%.0f%%), %.1f chunks/s, ETA %s",
                    n, total, total == 0 ? 100.0 : 100.0 * n / total, rate, eta));
        }

        void finish() {
            thread.interrupt();
            report();
        }

        @Override
        public void close() {
            thread.interrupt();
        }
    }

    /**
     * The command line: {@code java -jar refrag-spark-local.jar --master 'local[2]' --model DIR|ID --corpus PATH
     * --store DIR}, or the same arguments after {@code spark-submit --class io.refrag.spark.CorpusJob}.
     *
     * @param args the arguments
     */
    public static void main(String[] args) {
        if (System.getProperty("log4j2.configurationFile") == null && List.of(args).contains("--master")) {
            // the local launcher (java -jar): quiet Spark before it starts logging
            System.setProperty("log4j2.configurationFile", "classpath:io/refrag/spark/log4j2-local.properties");
        }
        System.exit(CorpusJobCommand.execute(args, System.out, System.err));
    }

    static void printSummary(Summary s, PrintStream out) {
        out.printf(Locale.ROOT, "%d passages, %d distinct chunks: %d already in the store, %d encoded into %d "
                + "segments in %.1f s (%.1f chunks/s)%n", s.passages(), s.chunks(), s.alreadyStored(), s.encoded(),
                s.segments(), s.seconds(), s.chunksPerSecond());
    }
}
