package io.refrag.policy;

import io.refrag.core.chunk.Chunk;
import io.refrag.core.spi.CausalDecoder;
import io.refrag.core.spi.DecoderInput;
import io.refrag.core.spi.ExpansionPolicy;
import io.refrag.core.spi.PolicyInput;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code perplexity}: the paper's heuristic. Each chunk is scored by the decoder's mean negative log-likelihood of its
 * tokens given the preceding text of its passage; the hardest-to-predict chunks are expanded.
 *
 * <p>Cost: one causal forward pass of the decoder over every passage's tokens (passages scored independently, no KV
 * cache), i.e. about the prefill work of the full context, paid before the REFRAG prefill. It therefore removes
 * REFRAG's TTFT gain and serves as a quality reference, not a fast path.
 */
public final class PerplexityPolicy implements ExpansionPolicy {
    @Override
    public String name() {
        return "perplexity";
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
        List<Integer> tokens = new ArrayList<>();
        for (Chunk c : passage) {
            for (int id : c.tokenIds()) {
                tokens.add(id);
            }
        }
        int bos = decoder.info().bosTokenId();
        float[] nll = new float[tokens.size()];
        int window = decoder.info().maxPositions() - 1;
        for (int s = bos >= 0 ? 0 : 1; s < tokens.size(); s += window) {
            int e = Math.min(tokens.size(), s + window);
            int context = s == 0 ? bos : tokens.get(s - 1);
            int[] targets = tokens.subList(s, e).stream().mapToInt(Integer::intValue).toArray();
            System.arraycopy(decoder.tokenNll(DecoderInput.ofTokens(context), targets), 0, nll, s, targets.length);
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
