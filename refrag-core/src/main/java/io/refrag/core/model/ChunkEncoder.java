package io.refrag.core.model;

import java.util.List;

/**
 * A light encoder (RoBERTa/BERT) that maps each chunk's text to one vector. Immutable and thread-safe; implemented by
 * refrag-encoder and found through {@code EncoderProvider} (package {@code spi}).
 */
public interface ChunkEncoder extends AutoCloseable {

    /** @return a stable identifier of weights and pooling (part of chunk-cache keys) */
    String id();

    /** @return width of the vectors {@link #encode(List)} returns */
    int hiddenSize();

    /**
     * Encodes texts in padded batches, one vector each.
     *
     * @param texts chunk texts (longer ones are truncated to the encoder's position limit)
     * @return {@code [texts.size(), hiddenSize]}
     */
    float[][] encode(List<String> texts);

    /** @return the most tokens (its own) the encoder reads from one chunk; longer chunks would be truncated */
    default int maxTokens() {
        return Integer.MAX_VALUE;
    }

    @Override
    void close();
}
