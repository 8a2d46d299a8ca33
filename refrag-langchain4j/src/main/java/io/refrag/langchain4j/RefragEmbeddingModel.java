package io.refrag.langchain4j;

import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.ModelProvider;
import dev.langchain4j.model.embedding.EmbeddingModel;
import dev.langchain4j.model.output.Response;
import io.refrag.core.Refrag;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A langchain4j {@link EmbeddingModel} over the REFRAG pipeline's own encoder ({@link Refrag#embed}): retrieval and
 * compression then share one model and one runtime, and the app needs no second embedding model. The vectors are the
 * encoder's pooled output ({@link #dimension()} values), L2-normalised so that cosine and dot-product stores agree.
 * Thread-safe; the caller owns and closes the pipeline.
 *
 * <pre>{@code
 * EmbeddingModel embedder = new RefragEmbeddingModel(refrag);
 * }</pre>
 */
public final class RefragEmbeddingModel implements EmbeddingModel {
    /** Texts per encoder call: the pipeline's encoder batches within it. */
    private static final int BATCH = 64;

    private final Refrag refrag;

    /**
     * @param refrag the pipeline whose encoder embeds
     * @throws io.refrag.core.exception.InvalidRequestException if the pipeline has no encoder
     */
    public RefragEmbeddingModel(Refrag refrag) {
        this.refrag = Objects.requireNonNull(refrag, "refrag");
        if (refrag.embeddingSize() == 0) {
            throw new io.refrag.core.exception.InvalidRequestException("this pipeline has no encoder to embed with");
        }
    }

    @Override
    public Response<List<Embedding>> embedAll(List<TextSegment> segments) {
        List<Embedding> out = new ArrayList<>(segments.size());
        for (int from = 0; from < segments.size(); from += BATCH) {
            List<String> texts = segments.subList(from, Math.min(segments.size(), from + BATCH)).stream()
                    .map(TextSegment::text).toList();
            for (float[] v : refrag.embed(texts)) {
                out.add(Embedding.from(normalised(v)));
            }
        }
        return Response.from(out);
    }

    @Override
    public int dimension() {
        return refrag.embeddingSize();
    }

    @Override
    public String modelName() {
        return "refrag-encoder";
    }

    @Override
    public ModelProvider provider() {
        return ModelProvider.OTHER;
    }

    private static float[] normalised(float[] v) {
        double sum = 0;
        for (float x : v) {
            sum += (double) x * x;
        }
        double norm = Math.sqrt(sum);
        if (norm == 0) {
            return v;
        }
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = (float) (v[i] / norm);
        }
        return out;
    }
}
