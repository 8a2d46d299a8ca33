package io.refrag.core.model;

import io.refrag.core.json.Enums;

/** How a chunk encoder turns token states into one vector per chunk. */
public enum Pooling {
    /** The first token's ({@code [CLS]} / {@code <s>}) last hidden state: the REFRAG default. */
    CLS,
    /** Mean of the last hidden states over non-padding tokens. */
    MEAN,
    /** HF {@code pooler_output}: {@code tanh(pooler.dense(CLS))}; needs the pooler weights. */
    POOLER;

    /**
     * @param text cls, mean or pooler (case-insensitive)
     * @return the pooling
     */
    public static Pooling parse(String text) {
        return Enums.parse(Pooling.class, text, "pooling");
    }
}
