package io.refrag.core.model;

import io.refrag.core.exception.ContextTooLongException;

/**
 * What the orchestrator needs to know about a decoder, and the two rules every prompt follows: it starts with BOS when
 * the decoder has one ({@link #withBos}), and it fits the context length ({@link #requireFits}).
 *
 * @param hiddenSize width of the token-embedding space (the projector's output size)
 * @param vocabSize number of logits
 * @param maxPositions context length ({@code max_position_embeddings})
 * @param bosTokenId beginning-of-sequence id, or -1 if none
 * @param eosTokenIds end-of-sequence ids (may be empty)
 */
public record DecoderInfo(int hiddenSize, int vocabSize, int maxPositions, int bosTokenId, int[] eosTokenIds) {

    /**
     * @param ids token ids without BOS
     * @return the ids with the decoder's BOS in front, or a copy of them when it has none
     */
    public int[] withBos(int[] ids) {
        if (bosTokenId < 0) {
            return ids.clone();
        }
        int[] out = new int[ids.length + 1];
        out[0] = bosTokenId;
        System.arraycopy(ids, 0, out, 1, ids.length);
        return out;
    }

    /**
     * Checks a length against the context length: the one place that message is written.
     *
     * @param positions positions the input needs
     * @param what what the input is, e.g. "REFRAG decoder input"
     * @param hint how to shorten it, or an empty string
     * @throws ContextTooLongException if {@code positions > maxPositions}
     */
    public void requireFits(int positions, String what, String hint) {
        requireFits(positions, maxPositions, what, hint);
    }

    /**
     * Checks a length against a limit below the context length (a KV cache's capacity).
     *
     * @param positions positions needed
     * @param limit positions available
     * @param what what the input is
     * @param hint how to shorten it, or an empty string
     * @throws ContextTooLongException if {@code positions > limit}
     */
    public static void requireFits(int positions, int limit, String what, String hint) {
        if (positions > limit) {
            throw new ContextTooLongException(what + " needs " + positions + " positions but " + limit + " are "
                    + "available (" + (positions - limit) + " too many)" + (hint.isEmpty() ? "" : "; " + hint),
                    positions, limit);
        }
    }
}
