package io.refrag.spark;

import io.refrag.core.exception.RefragException;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.util.concurrent.Callable;

/** The corpus job's command line: picocli options to {@link JobOptions}, a Spark session, a summary line. */
@Command(name = "refrag-spark", mixinStandardHelpOptions = true,
        description = {"Encode a corpus into a chunk store that serving replicas read (refrag.json 'chunkStore', "
                + "CLI --chunk-store).", "Paths may be any Hadoop file system's (file:, hdfs:, s3a:)."})
final class CorpusJobCommand implements Callable<Integer> {
    @Option(names = "--master", paramLabel = "URL", description = "Spark master, e.g. 'local[2]' (default: as "
            + "spark-submit sets it)")
    String master;

    @Option(names = "--model", required = true, paramLabel = "DIR|ID", description = "a REFRAG folder or its Hugging "
            + "Face id, readable on every executor")
    String model;

    @Option(names = "--corpus", required = true, paramLabel = "PATH", description = "passages: text (one per line), "
            + ".jsonl ('text' field) or .parquet ('text' column); a file or a folder")
    String corpus;

    @Option(names = "--format", paramLabel = "FORMAT", description = "text, jsonl or parquet (default: from the "
            + "corpus's name)")
    JobOptions.Format format;

    @Option(names = "--store", required = true, paramLabel = "DIR", description = "the chunk store (created, or "
            + "completed when it exists)")
    String store;

    @Option(names = "--k", paramLabel = "N", description = "decoder tokens per chunk (default: refrag.json's k)")
    Integer k;

    @Option(names = "--batch-size", paramLabel = "N", description = "chunks per encoder call (default: "
            + JobOptions.DEFAULT_BATCH_SIZE + ")")
    int batchSize = JobOptions.DEFAULT_BATCH_SIZE;

    @Option(names = "--segment-entries", paramLabel = "N", description = "chunks per segment file, the most a task "
            + "holds (default: " + JobOptions.DEFAULT_SEGMENT_ENTRIES + ")")
    int segmentEntries = JobOptions.DEFAULT_SEGMENT_ENTRIES;

    @Option(names = "--threads", paramLabel = "N", description = "intra-op threads per task (default: "
            + "spark.task.cpus)")
    int threads;

    private final PrintStream out;
    private final PrintStream err;

    private CorpusJobCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    /**
     * @param args the command line
     * @param out where the summary goes
     * @param err progress and errors
     * @return the exit code: 0 done, 2 bad input (one line), 1 an unexpected failure
     */
    static int execute(String[] args, PrintStream out, PrintStream err) {
        CommandLine cli = new CommandLine(new CorpusJobCommand(out, err)).setCaseInsensitiveEnumValuesAllowed(true);
        cli.setParameterExceptionHandler((e, argv) -> {
            err.println("refrag-spark: " + e.getMessage().replace('\n', ' '));
            return 2;
        });
        cli.setExecutionExceptionHandler((e, command, parsed) -> {
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t instanceof RefragException) {
                    err.println("refrag-spark: " + t.getMessage().replace('\n', ' '));
                    return 2;
                }
            }
            err.println("refrag-spark: unexpected failure: " + String.valueOf(e).replace('\n', ' '));
            return 1;
        });
        return cli.execute(args);
    }

    @Override
    public Integer call() {
        JobOptions options = new JobOptions(model, corpus, format != null ? format : JobOptions.Format.of(corpus),
                store, k, batchSize, segmentEntries, threads, -1);
        SparkSession.Builder builder = SparkSession.builder().appName("refrag-spark corpus job");
        if (master != null) {
            builder.master(master);
            if (master.startsWith("local")) {
                builder.config("spark.sql.shuffle.partitions", "16"); // not a cluster's 200 for one machine's cores
            }
        }
        SparkSession spark = builder.getOrCreate();
        try {
            CorpusJob.printSummary(CorpusJob.run(spark, options, line -> err.println("refrag-spark: " + line)), out);
        } finally {
            spark.stop();
        }
        return 0;
    }
}
