package io.refrag.core.model;

/**
 * Maps encoder vectors into the decoder's token-embedding space (REFRAG's projection layer). Thread-safe.
 */
public interface Projector extends AutoCloseable {

    /** @return identifier derived from the weights (part of chunk-cache keys) */
    String id();

    /** @return encoder hidden size it accepts */
    int inputSize();

    /** @return decoder hidden size it produces */
    int outputSize();

    /**
     * @param vectors {@code [n, inputSize]}
     * @return {@code [n, outputSize]}
     */
    float[][] project(float[][] vectors);

    @Override
    void close();
}
