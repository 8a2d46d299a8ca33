package io.refrag.core.generate;

/** Streaming callback, called on the generating thread once per generated token. */
@FunctionalInterface
public interface TokenListener {

    /**
     * @param tokenId the token just sampled
     * @param textDelta text this token adds to the decoded output (may be empty mid multi-byte character)
     */
    void onToken(int tokenId, String textDelta);
}
