package io.refrag.spark;

import io.refrag.core.exception.InvalidRequestException;

import java.io.Serializable;
import java.util.Locale;

/**
 * What a corpus job encodes and where it writes: shipped to every executor, which loads the model from it.
 *
 * @param model a REFRAG folder or its Hugging Face id, readable on every executor (the same path on each node, or the
 *     id in each node's hub cache)
 * @param corpus the corpus: any Hadoop file system path (a file or a folder of files)
 * @param format how the corpus is written
 * @param store the chunk store: any Hadoop file system path
 * @param k decoder tokens per chunk, or null for the model's default
 * @param batchSize chunks per encoder call
 * @param segmentEntries chunks per segment file: what a task holds in memory at most
 * @param threads intra-op threads per task, or 0 for Spark's {@code spark.task.cpus}
 * @param failFirstAttemptOf for fault-injection tests only: the first attempt of this partition fails after committing
 *     its first segment and leaving a half-written one (-1: never)
 */
public record JobOptions(String model, String corpus, Format format, String store, Integer k, int batchSize,
        int segmentEntries, int threads, int failFirstAttemptOf) implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Default chunks per encoder call. */
    public static final int DEFAULT_BATCH_SIZE = 256;
    /** Default chunks per segment. */
    public static final int DEFAULT_SEGMENT_ENTRIES = 4096;

    /** How a corpus is written. */
    public enum Format {
        /** one passage per line (blank lines skipped) */
        TEXT,
        /** one JSON object per line with a string field {@code text} (and usually {@code id}) */
        JSONL,
        /** Parquet with a string column {@code text} (and usually {@code id}) */
        PARQUET;

        /**
         * @param path a corpus path
         * @return the format its name says: {@code .jsonl}/{@code .json} JSONL, {@code .parquet} Parquet, else text
         */
        public static Format of(String path) {
            String name = path.toLowerCase(Locale.ROOT).replaceAll("/+$", "");
            if (name.endsWith(".jsonl") || name.endsWith(".json")) {
                return JSONL;
            }
            return name.endsWith(".parquet") ? PARQUET : TEXT;
        }
    }

    /** Checks the values. */
    public JobOptions {
        if (model == null || corpus == null || store == null || format == null) {
            throw new InvalidRequestException("a corpus job needs a model, a corpus, its format and a store");
        }
        if (batchSize < 1 || batchSize > 65_536) {
            throw new InvalidRequestException("batch size must be 1 to 65536 chunks, got " + batchSize);
        }
        if (segmentEntries < 1 || segmentEntries > 100_000) {
            throw new InvalidRequestException("segment entries must be 1 to 100000, got " + segmentEntries);
        }
        if (threads < 0) {
            throw new InvalidRequestException("threads must be >= 0 (0: spark.task.cpus), got " + threads);
        }
    }

    /**
     * @param model a REFRAG folder or id
     * @param corpus the corpus path (its format from its name)
     * @param store the store path
     * @return options with every other value at its default
     */
    public static JobOptions of(String model, String corpus, String store) {
        return new JobOptions(model, corpus, Format.of(corpus), store, null, DEFAULT_BATCH_SIZE,
                DEFAULT_SEGMENT_ENTRIES, 0, -1);
    }

    /**
     * @param n chunks per segment
     * @return these options with that segment size
     */
    public JobOptions withSegmentEntries(int n) {
        return new JobOptions(model, corpus, format, store, k, batchSize, n, threads, failFirstAttemptOf);
    }

    /**
     * @param partition the partition whose first attempt fails (tests of task retries)
     * @return these options with that fault
     */
    public JobOptions withFailureInjectedInto(int partition) {
        return new JobOptions(model, corpus, format, store, k, batchSize, segmentEntries, threads, partition);
    }

    /**
     * @param chunkSize decoder tokens per chunk
     * @return these options with that k
     */
    public JobOptions withK(Integer chunkSize) {
        return new JobOptions(model, corpus, format, store, chunkSize, batchSize, segmentEntries, threads,
                failFirstAttemptOf);
    }
}
