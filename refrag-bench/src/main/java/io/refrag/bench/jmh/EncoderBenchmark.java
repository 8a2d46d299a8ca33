package io.refrag.bench.jmh;

import io.refrag.core.cache.LruChunkCache;
import io.refrag.core.chunk.ChunkEmbedder;
import io.refrag.core.model.ModelOptions;
import io.refrag.core.model.Pooling;
import io.refrag.encoder.BertChunkEncoder;
import io.refrag.encoder.MlpProjector;
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
 * Chunk encoding of 16-token chunks with random-weight encoders at MiniLM (384 x 6) and roberta-base (768 x 12)
 * shapes, per batch; and the cost of a batch served by the cache (hit) against encode + project (miss).
 * Chunks/s = batch / time.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class EncoderBenchmark extends BenchmarkBase {
    @Param({"minilm", "roberta-base"})
    public String shape;

    @Param({"1", "16", "128"})
    public int batch;

    private BertChunkEncoder encoder;
    private MlpProjector projector;
    private ChunkEmbedder cached;
    private List<String> chunks;

    @Setup(Level.Trial)
    public void load() {
        boolean roberta = shape.equals("roberta-base");
        RandomBertCheckpoint ckpt = roberta
                ? RandomBertCheckpoint.builder().roberta(true).shape(50265, 768, 12, 12, 3072, 514)
                : RandomBertCheckpoint.builder().shape(30522, 384, 6, 12, 1536, 512);
        encoder = BertChunkEncoder.load(ckpt.write(workDir().resolve(shape)), ModelOptions.defaults(), Pooling.CLS);
        projector = MlpProjector.create(encoder.hiddenSize(), 1024, true, MlpProjector.ProjectorActivation.GELU, 0,
                ModelOptions.defaults());
        chunks = new ArrayList<>();
        for (int i = 0; i < batch; i++) {
            chunks.add(randomText(16, 30000, i));
        }
        cached = new ChunkEmbedder(encoder, projector, new LruChunkCache(10_000));
        cached.embed(chunks, true);
    }

    @TearDown(Level.Trial)
    public void close() {
        projector.close();
        encoder.close();
        deleteWorkDir();
    }

    /** @return encoder vectors of one batch */
    @Benchmark
    public float[][] encode() {
        return encoder.encode(chunks);
    }

    /** @return projected embeddings, all from the cache */
    @Benchmark
    public float[][] cacheHit() {
        return cached.embed(chunks, true).rows();
    }

    /** @return projected embeddings, encoded and projected now */
    @Benchmark
    public float[][] cacheMiss() {
        return cached.embed(chunks, false).rows();
    }
}
