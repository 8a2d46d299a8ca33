package io.refrag.bench.jmh;

import io.refrag.core.Refrag;
import io.refrag.core.RefragOptions;
import io.refrag.core.RefragRequest;
import io.refrag.core.RefragResult;
import io.refrag.core.generate.GenerationOptions;
import io.refrag.core.model.ModelOptions;
import io.refrag.core.model.Pooling;
import io.refrag.decoder.llama.LlamaDecoder;
import io.refrag.decoder.llama.RandomLlamaCheckpoint;
import io.refrag.encoder.BertChunkEncoder;
import io.refrag.encoder.RandomBertCheckpoint;
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
import java.util.concurrent.TimeUnit;

/**
 * Full context against REFRAG (k = 8/16/32, chunk embeddings cached or computed per request, p = 0) on random-weight
 * models: decoder hidden 1024, 8 layers, 16/4 heads, vocab 32000; encoder MiniLM-shaped (384 x 6). The context is
 * made of 128-token passages. {@code ttft} generates one token (its time is the TTFT); {@code generate32} generates
 * 32 tokens (throughput = 32 / its time). Compare modes within one invocation; per-token decode time is measured by
 * {@link DecoderBenchmark#decodeStep()}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class RefragBenchmark extends BenchmarkBase {
    @Param({"1024", "4096", "16384"})
    public int contextTokens;

    @Param({"full", "k8-cached", "k8-uncached", "k16-cached", "k16-uncached", "k32-cached", "k32-uncached"})
    public String mode;

    private Refrag refrag;
    private RefragRequest request;
    private RefragOptions oneToken;
    private RefragOptions thirtyTwo;

    @Setup(Level.Trial)
    public void load() {
        ModelOptions o = ModelOptions.defaults();
        LlamaDecoder decoder = LlamaDecoder.load(RandomLlamaCheckpoint.builder().shape(32000, 1024, 2816, 8, 16, 4)
                .maxPositions(16384 + 256).write(workDir().resolve("llama")), o);
        BertChunkEncoder encoder = BertChunkEncoder.load(RandomBertCheckpoint.builder()
                .shape(30522, 384, 6, 12, 1536, 512).write(workDir().resolve("minilm")), o, Pooling.CLS);
        refrag = Refrag.builder().setDecoder(decoder).optEncoder(encoder).build();
        List<String> passages = new ArrayList<>();
        for (int i = 0; i < contextTokens / 128; i++) {
            passages.add(randomText(128, 30000, i));
        }
        request = RefragRequest.builder().context(passages).text("t11 t12 t13 t14 t15 t16 t17 t18").build();
        RefragOptions.Builder b = RefragOptions.builder();
        if (mode.equals("full")) {
            b.optFullContext(true);
        } else {
            b.optK(Integer.parseInt(mode.substring(1, mode.indexOf('-')))).optUseCache(mode.endsWith("-cached"));
        }
        oneToken = b.optGeneration(GenerationOptions.builder().optMaxNewTokens(1).optStopTokenIds().build()).build();
        thirtyTwo = b.optGeneration(GenerationOptions.builder().optMaxNewTokens(32).optStopTokenIds().build()).build();
        refrag.generate(request, oneToken); // fills the cache for the cached modes
    }

    @TearDown(Level.Trial)
    public void close() {
        refrag.close();
        deleteWorkDir();
    }

    /** @return a one-token generation: its time is the TTFT */
    @Benchmark
    public RefragResult ttft() {
        return refrag.generate(request, oneToken);
    }

    /** @return a 32-token generation */
    @Benchmark
    public RefragResult generate32() {
        return refrag.generate(request, thirtyTwo);
    }
}
