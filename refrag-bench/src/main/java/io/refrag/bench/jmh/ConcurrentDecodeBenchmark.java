package io.refrag.bench.jmh;

import io.refrag.core.generate.BatchedGenerator;
import io.refrag.core.generate.GenerationOptions;
import io.refrag.core.generate.GenerationResult;
import io.refrag.core.generate.Generator;
import io.refrag.core.model.DecoderInput;
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
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Concurrent serving: {@code streams} requests of {@value #NEW_TOKENS} new tokens each after a
 * {@value #PROMPT}-token prompt on the decoder of {@link DecoderBenchmark}. {@code batched} shares decode steps through
 * {@link BatchedGenerator}; {@code threads} runs each request on its own thread, unbatched; {@code sequential} runs
 * them one after another (the single-stream rate). Total tokens/s = streams * {@value #NEW_TOKENS} / time per op.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class ConcurrentDecodeBenchmark extends BenchmarkBase {
    static final int PROMPT = 32;
    static final int NEW_TOKENS = 32;

    @Param({"1", "2", "4", "8"})
    public int streams;

    private LlamaDecoder decoder;
    private BatchedGenerator batcher;
    private List<DecoderInput> prompts;
    private ExecutorService clients;
    private GenerationOptions options;

    @Setup(Level.Trial)
    public void load() {
        decoder = LlamaDecoder.load(RandomLlamaCheckpoint.builder().shape(32000, 1024, 2816, 8, 16, 4)
                .maxPositions(4096).write(workDir().resolve("llama")), ModelOptions.defaults());
        batcher = new BatchedGenerator(decoder, 8);
        clients = Executors.newFixedThreadPool(8);
        SplittableRandom r = new SplittableRandom(1);
        prompts = new ArrayList<>();
        for (int s = 0; s < streams; s++) {
            prompts.add(DecoderInput.ofTokens(r.ints(PROMPT, 3, 32000).toArray()));
        }
        options = GenerationOptions.builder().optMaxNewTokens(NEW_TOKENS).optStopTokenIds().build();
    }

    @TearDown(Level.Trial)
    public void close() {
        clients.shutdown();
        batcher.close();
        decoder.close();
        deleteWorkDir();
    }

    /** @return the last stream's result; every stream decodes in the shared batch */
    @Benchmark
    public GenerationResult batched() {
        List<BatchedGenerator.Stream> running = new ArrayList<>();
        for (DecoderInput prompt : prompts) {
            running.add(batcher.submit(prompt, options, System.nanoTime()));
        }
        GenerationResult last = null;
        for (BatchedGenerator.Stream s : running) {
            last = s.result().join();
        }
        return last;
    }

    /** @return the last result; every request on its own thread, each decoding alone */
    @Benchmark
    public GenerationResult threads() throws Exception {
        List<Future<GenerationResult>> running = new ArrayList<>();
        for (DecoderInput prompt : prompts) {
            running.add(clients.submit(() -> Generator.generate(decoder, prompt, options, System.nanoTime())));
        }
        GenerationResult last = null;
        for (Future<GenerationResult> f : running) {
            last = f.get();
        }
        return last;
    }

    /** @return the last result; the same requests one at a time */
    @Benchmark
    public GenerationResult sequential() {
        GenerationResult last = null;
        for (DecoderInput prompt : prompts) {
            last = Generator.generate(decoder, prompt, options, System.nanoTime());
        }
        return last;
    }
}
