package io.refrag.bench.jmh;

import io.refrag.core.model.DecoderInput;
import io.refrag.core.model.DecoderSession;
import io.refrag.core.model.ModelOptions;
import io.refrag.decoder.llama.LlamaDecoder;
import io.refrag.decoder.llama.RandomLlamaCheckpoint;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * One decode step over {@code rows} requests at once ({@code CausalDecoder.decodeBatch}), each with {@code depth}
 * positions already in its own KV cache, on the decoder of {@link DecoderBenchmark}: the step that continuous batching
 * repeats, as llama.cpp's {@code llama-bench -p 8 -d DEPTH} times an 8-row ubatch. Aggregate tokens/s = rows / time
 * per op; the gain of B rows is B x time(1 row) / time(B rows).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class BatchedDecodeStepBenchmark extends BenchmarkBase {
    @Param({"1", "2", "4", "8"})
    public int rows;

    @Param({"32", "512"})
    public int depth;

    private LlamaDecoder decoder;
    private List<DecoderSession> sessions;
    private int[] tokens;
    private int step;

    @Setup(Level.Trial)
    public void load() {
        decoder = LlamaDecoder.load(RandomLlamaCheckpoint.builder().shape(32000, 1024, 2816, 8, 16, 4)
                .maxPositions(4096).write(workDir().resolve("llama")), ModelOptions.defaults());
        tokens = new int[rows];
    }

    /** Sessions holding {@code depth} positions each, with room for this iteration's steps. */
    @Setup(Level.Iteration)
    public void prefillSessions() {
        SplittableRandom r = new SplittableRandom(1);
        sessions = new ArrayList<>();
        for (int s = 0; s < rows; s++) {
            DecoderSession session = decoder.newSession(depth + 1024);
            session.prefill(DecoderInput.ofTokens(r.ints(depth, 3, 32000).toArray()));
            sessions.add(session);
        }
        step = 0;
    }

    @TearDown(Level.Iteration)
    public void closeSessions() {
        sessions.forEach(DecoderSession::close);
    }

    @TearDown(Level.Trial)
    public void close() {
        decoder.close();
        deleteWorkDir();
    }

    /** @return the rows' logits after one more token each (every cache grows by one position per call) */
    @Benchmark
    public float[][] step() {
        if (sessions.get(0).position() == sessions.get(0).capacity()) {
            closeSessions();
            prefillSessions();
        }
        for (int i = 0; i < rows; i++) {
            tokens[i] = 3 + (step + 7 * i) % 1000;
        }
        step++;
        return decoder.decodeBatch(sessions, tokens);
    }
}
