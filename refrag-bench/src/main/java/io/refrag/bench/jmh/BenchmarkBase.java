package io.refrag.bench.jmh;

import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Shared JMH settings: one fork running offline DJL with a large heap, a burn-in iteration, then measured iterations.
 * Subclasses write their random-weight checkpoints into {@link #workDir()} and get it deleted afterwards.
 */
@State(Scope.Benchmark)
@Fork(value = 1, jvmArgsAppend = {"-Dai.djl.offline=true", "-Xmx16g", "-Xss4m"})
@Warmup(iterations = 1)
@Measurement(iterations = 3)
public abstract class BenchmarkBase {
    private Path workDir;

    /** @return a temporary folder for this trial's checkpoints */
    protected Path workDir() {
        try {
            if (workDir == null) {
                workDir = Files.createTempDirectory("refrag-bench");
            }
            return workDir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Deletes the trial's checkpoints. */
    protected void deleteWorkDir() {
        if (workDir == null) {
            return;
        }
        try (Stream<Path> files = Files.walk(workDir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        workDir = null;
    }

    /**
     * @param tokens number of word-level tokens
     * @param vocab vocabulary to draw from (ids 3 .. vocab-1)
     * @param seed seed
     * @return text of space-separated {@code t<id>} tokens (one decoder token each with the word-level tokenizer)
     */
    protected static String randomText(int tokens, int vocab, long seed) {
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < tokens; i++) {
            sb.append(i == 0 ? "" : " ").append('t').append(r.nextInt(3, vocab));
        }
        return sb.toString();
    }
}
