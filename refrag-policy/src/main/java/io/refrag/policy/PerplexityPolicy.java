package io.refrag.policy;

import io.refrag.core.model.Chunk;
import io.refrag.core.model.CausalDecoder;
import io.refrag.core.model.PolicyInput;
import io.refrag.core.model.PolicyNames;

import java.util.Arrays;
import java.util.List;

/**
 * {@code perplexity}: the paper's heuristic. Each chunk is scored by the decoder's mean negative log-likelihood of its
 * tokens given the preceding text of its passage; the hardest-to-predict chunks are expanded.
 *
 * <p>Cost: one causal forward pass of the decoder over every passage's tokens (passages scored independently, no KV
 * cache), i.e. about the prefill work of the full context, paid before the REFRAG prefill. It therefore removes
 * REFRAG's TTFT gain and serves as a quality reference, not a fast path.
 */
public final class PerplexityPolicy extends BasePolicy {
    /** The policy; stateless. */
    public PerplexityPolicy() {
        super(PolicyNames.PERPLEXITY);
    }

    @Override
    public int[] select(PolicyInput input, int budget) {
        List<Chunk> chunks = input.chunks();
        double[] scores = new double[chunks.size()];
        int start = 0;
        while (start < chunks.size()) {
            int end = start + 1;
            while (end < chunks.size() && chunks.get(end).index() != 0) {
                end++; // a passage is a run of chunks starting at index 0
            }
            scorePassage(input.decoder(), chunks.subList(start, end), scores, start);
            start = end;
        }
        return Selections.topScores(scores, budget);
    }

    private static void scorePassage(CausalDecoder decoder, List<Chunk> passage, double[] scores, int offset) {
        int[] tokens = passage.stream().flatMapToInt(c -> Arrays.stream(c.tokenIds())).toArray();
        // Without BOS the first token has no context and scores 0.
        float[] nll = new float[tokens.length];
        if (tokens.length > 1 || decoder.info().bosTokenId() >= 0) {
            float[] scored = decoder.windowedNll(decoder.info().withBos(tokens));
            System.arraycopy(scored, 0, nll, tokens.length - scored.length, scored.length);
        }
        int pos = 0;
        for (int i = 0; i < passage.size(); i++) {
            double sum = 0;
            for (int t = 0; t < passage.get(i).length(); t++) {
                sum += nll[pos++];
            }
            scores[offset + i] = sum / passage.get(i).length();
        }
    }
}
