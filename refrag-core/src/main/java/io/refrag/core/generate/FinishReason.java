package io.refrag.core.generate;

/** Why generation ended. */
public enum FinishReason {
    /** A stop token (EOS by default) was generated. */
    STOP,
    /** {@code maxNewTokens} tokens were generated. */
    LENGTH,
    /** The decoder's context length was reached before either of the above. */
    CONTEXT_LIMIT
}
