package io.refrag.bench.jmh;

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

import java.util.concurrent.TimeUnit;

/**
 * LLaMA prefill and decode step on a random-weight model at a real shape: hidden 1024, 8 layers, 16 query / 4 KV
 * heads, intermediate 2816, vocab 32000. Prefill positions/s = promptLength / prefill time; decode tokens/s = 1 /
 * decodeStep time (measured with the KV cache holding promptLength positions).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class DecoderBenchmark extends SingleStreamBenchmark {
    @Param({"512", "2048", "8192"})
    public int promptLength;

    @Setup(Level.Trial)
    public void load() {
        decoder = LlamaDecoder.load(RandomLlamaCheckpoint.builder().shape(32000, 1024, 2816, 8, 16, 4)
                .maxPositions(8192 + ROOM).write(workDir().resolve("llama")), ModelOptions.defaults());
        prompt = new java.util.SplittableRandom(1).ints(promptLength, 3, 32000).toArray();
    }

    /** @return logits of the last prompt position */
    @Benchmark
    public float[] prefill() {
        return loop.prefill();
    }

    /** @return logits after one more token (the cache grows by one position per call) */
    @Benchmark
    public float[] decodeStep() {
        return loop.decode();
    }
}
