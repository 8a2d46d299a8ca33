package io.refrag.policy;

import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.model.PolicyInput;
import io.refrag.core.model.PolicyNames;

/**
 * {@code query-similarity}: expands the chunks whose projected embeddings have the highest cosine similarity to the
 * projected embedding of the request's text (question and instructions). Costs one extra encoder call for the query
 * (cached like chunks) and needs every chunk encoded.
 */
public final class QuerySimilarityPolicy extends BasePolicy {
    /** The policy; stateless. */
    public QuerySimilarityPolicy() {
        super(PolicyNames.QUERY_SIMILARITY, Need.CHUNK_EMBEDDINGS, Need.QUERY_EMBEDDING);
    }

    @Override
    public int[] select(PolicyInput input, int budget) {
        float[] q = input.queryEmbedding();
        if (q == null) {
            throw new InvalidRequestException("query-similarity needs the query embedding");
        }
        double[] scores = new double[input.chunks().size()];
        for (int i = 0; i < scores.length; i++) {
            scores[i] = cosine(q, input.chunkEmbeddings()[i]);
        }
        return Selections.topScores(scores, budget);
    }

    static double cosine(float[] a, float[] b) {
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += a[i] * b[i];
            na += a[i] * a[i];
            nb += b[i] * b[i];
        }
        return na == 0 || nb == 0 ? 0 : dot / Math.sqrt(na * nb);
    }
}
