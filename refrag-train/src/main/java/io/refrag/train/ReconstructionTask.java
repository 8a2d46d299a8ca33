package io.refrag.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.refrag.core.model.Chunk;
import io.refrag.core.tensor.Tensors;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.function.LongToIntFunction;
import java.util.Map;
import java.util.function.DoubleSupplier;

/**
 * Reconstruction: the decoder stays frozen; the projector (and the encoder when
 * {@link ReconstructionConfig#trainEncoder()}) learn so that from L chunk embeddings the decoder reproduces the L*k
 * tokens (teacher forcing, loss on those tokens only). With a curriculum, samples go from 1 chunk to
 * {@code maxChunks}; held-out NLL is measured on {@code maxChunks}-chunk samples.
 *
 * <p>Its result's held-out NLLs are {@code before} and {@code after}, and the decoder's {@code no-context} NLL of
 * the same tokens: what reconstruction must beat to carry information.
 */
public final class ReconstructionTask extends SessionTask {
    /** The task's name. */
    public static final String NAME = TaskType.RECONSTRUCT.label();
    private final ReconstructionConfig config;

    /** @param config what to train on */
    public ReconstructionTask(ReconstructionConfig config) {
        super(NAME, config.base(), config.trainEncoder() ? EnumSet.of(Part.PROJECTOR, Part.ENCODER)
                : EnumSet.of(Part.PROJECTOR), 0);
        this.config = config;
    }

    /** @return the settings */
    public ReconstructionConfig config() {
        return config;
    }

    @Override
    DoubleSupplier evaluation(TrainingSession s, Map<String, Double> baselines) {
        List<List<Chunk>> eval = new ArrayList<>();
        for (int i = 0; i < config.base().evalSamples(); i++) {
            eval.add(s.window(true, config.maxChunks(), ChunkedCorpus.random(TrainingSession.EVAL_SEED, 0, i)));
        }
        baselines.put("no-context", s.meanNll(eval.stream().map(c -> new TrainingSession.Sample(List.of(),
                TrainingSession.tokens(c))).toList(), (m, x, i) -> s.embed(m, s.plan(List.of()))));
        return () -> heldOutNll(s, eval);
    }

    @Override
    double train(TrainingSession s, TrainingListener listener) {
        TrainingOptions o = config.base().options();
        LongToIntFunction chunkCounts = config.curriculum() != null
                ? config.curriculum().plan((long) o.steps() * o.batchSize(), o.seed())
                : sample -> config.maxChunks();
        return s.run((step, update, gc) -> {
            List<List<Chunk>> batch = new ArrayList<>();
            for (int i = 0; i < o.batchSize(); i++) {
                int chunks = chunkCounts.applyAsInt((long) step * o.batchSize() + i);
                batch.add(s.window(false, chunks, ChunkedCorpus.random(o.seed(), step, i)));
            }
            s.prefetch(batch);
            s.detail(String.format(Locale.ROOT, "chunks/sample %.1f",
                    batch.stream().mapToInt(List::size).average().orElse(0)));
            double sum = 0;
            for (List<Chunk> sample : batch) {
                try (NDManager m = s.newScope()) {
                    NDArray loss = loss(s, m, sample);
                    gc.backward(Tensors.scale(loss, 1f / o.batchSize()));
                    sum += loss.getFloat();
                }
            }
            return sum / o.batchSize();
        }, 1, listener);
    }

    /** @return mean NLL of the chunks' L*k tokens after BOS and their L embeddings */
    private static NDArray loss(TrainingSession s, NDManager m, List<Chunk> chunks) {
        return s.targetNll(m, s.embed(m, s.plan(chunks)), TrainingSession.tokens(chunks));
    }

    private static double heldOutNll(TrainingSession s, List<List<Chunk>> eval) {
        s.prefetch(eval);
        double sum = 0;
        long n = 0;
        for (List<Chunk> sample : eval) {
            try (NDManager m = s.newScope()) {
                int len = TrainingSession.tokens(sample).length;
                sum += loss(s, m, sample).getFloat() * len;
                n += len;
            }
        }
        return sum / n;
    }
}
