package io.refrag.core.model;


/**
 * One request's decoding state: a preallocated KV cache and its native memory. Not thread-safe; one per request.
 * Close it to free the cache.
 */
public interface DecoderSession extends AutoCloseable {

    /**
     * Runs the whole input through the decoder at once, appending it to the cache.
     *
     * @param input positions to append
     * @return logits for the last appended position, {@code [vocab]}
     * @throws io.refrag.core.exception.ContextTooLongException if the cache capacity would be exceeded
     */
    float[] prefill(DecoderInput input);

    /**
     * Appends one token and returns the logits that follow it.
     *
     * @param tokenId the token
     * @return logits, {@code [vocab]}
     */
    float[] decode(int tokenId);

    /** @return positions held in the cache so far */
    int position();

    /** @return positions the cache can hold */
    int capacity();

    /** @return bytes of the preallocated KV cache */
    long kvCacheBytes();

    @Override
    void close();
}
