package io.refrag.bench.jmh;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
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
import org.openjdk.jmh.infra.BenchmarkParams;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * The library's thread default against explicit thread counts, as a plain program uses it: {@code threads = 0} keeps
 * {@link ModelOptions#defaults()} (the library chooses from the decoder's size), 1 and 2 set
 * {@link ModelOptions#withThreads}. TTFT is a {@value #PROMPT}-token prefill, TTIT one decode step, and a training step
 * the fine-tuning hooks' forward and backward through the frozen decoder to {@value #PROMPT} input embeddings (as the
 * reconstruction and CPT tasks train the projector), on stories260K
 * (hidden 64, from {@code ../shared/models}, or {@code -Drefrag.shared.dir}) and the random hidden-1024 model of
 * {@link DecoderBenchmark}. With {@code load = true} a second,
 * CPU-bound process runs beside the benchmark (one busy shell loop) for the whole trial. The default is acceptable when
 * it is within 1.2x of the best explicit setting in every cell.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class ThreadDefaultsBenchmark extends SingleStreamBenchmark {
    static final int PROMPT = 64;

    @Param({"stories260K", "hidden1024"})
    public String model;

    @Param({"0", "1", "2"})
    public int threads;

    @Param({"false", "true"})
    public boolean load;

    private Process busy;
    @Setup(Level.Trial)
    public void load(BenchmarkParams params) throws IOException {
        if (load) {
            busy = new ProcessBuilder("sh", "-c", "while :; do :; done").start();
        }
        Path folder = model.equals("stories260K")
                ? Path.of(System.getProperty("refrag.shared.dir", "../shared"), "models", "stories260K")
                : RandomLlamaCheckpoint.builder().shape(32000, 1024, 2816, 8, 16, 4).maxPositions(4096)
                        .write(workDir().resolve("llama"));
        ModelOptions options = threads == 0 ? ModelOptions.defaults() : ModelOptions.defaults().withThreads(threads);
        if (params.getBenchmark().endsWith("trainStep")) {
            options = options.withTrainable();
        }
        decoder = LlamaDecoder.load(folder, options);
        int vocab = decoder.info().vocabSize();
        prompt = new SplittableRandom(1).ints(PROMPT, 3, vocab).toArray();
    }

    /** Stops the second process (the decoder closes in {@link #closeDecoder}). */
    @TearDown(Level.Trial)
    public void stopLoad() {
        if (busy != null) {
            busy.destroyForcibly();
            try {
                busy.waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new UncheckedIOException(new IOException("interrupted", e));
            }
        }
    }

    /** @return logits of the last prompt position (TTFT of a {@value #PROMPT}-token prompt) */
    @Benchmark
    public float[] ttft() {
        return loop.prefill();
    }

    /** @return the summed gradient of the input embeddings after one forward and backward pass (a training step) */
    @Benchmark
    public float trainStep() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray embeds = decoder.inputsEmbeds(m.create(prompt)); // [prompt, hidden]
            embeds.setRequiresGradient(true);
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray logits = decoder.logits(embeds, 0); // [prompt, vocab]
                gc.backward(logits.logSoftmax(-1).mean().neg());
            }
            return embeds.getGradient().sum().getFloat();
        }
    }

    /** @return logits after one more token (TTIT) */
    @Benchmark
    public float[] ttit() {
        return loop.decode();
    }
}
