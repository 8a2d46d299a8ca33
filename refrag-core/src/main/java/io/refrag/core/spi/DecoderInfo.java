package io.refrag.core.spi;

/**
 * What the orchestrator needs to know about a decoder.
 *
 * @param hiddenSize width of the token-embedding space (the projector's output size)
 * @param vocabSize number of logits
 * @param maxPositions context length ({@code max_position_embeddings})
 * @param bosTokenId beginning-of-sequence id, or -1 if none
 * @param eosTokenIds end-of-sequence ids (may be empty)
 */
public record DecoderInfo(int hiddenSize, int vocabSize, int maxPositions, int bosTokenId, int[] eosTokenIds) {
}
