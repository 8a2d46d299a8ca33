package io.refrag.core.model;

import io.refrag.core.exception.InvalidRequestException;

/**
 * REFRAG's two knobs, with one owner for their checks, defaults and meaning: k, the decoder tokens per chunk, and p,
 * the fraction of a request's chunks that the policy expands back into tokens ({@code round(p * chunks)} of them).
 * Serving ({@code RefragOptions}, {@code refrag.json}), training, evaluation and the CLI all read them here.
 *
 * @param k decoder tokens per chunk, {@code >= 1} (the paper uses 8, 16 or 32)
 * @param p expansion fraction in {@code [0, 1]}
 */
public record Compression(int k, double p) {
    /** Default k, for serving and training alike. */
    public static final int DEFAULT_K = 16;
    /** Default p: nothing expanded, REFRAG's fastest mode. */
    public static final double DEFAULT_P = 0.0;

    /** Checks both knobs. */
    public Compression {
        requireK(k);
        requireP(p);
    }

    /** @return the defaults: k = {@value #DEFAULT_K}, p = {@value #DEFAULT_P} */
    public static Compression defaults() {
        return new Compression(DEFAULT_K, DEFAULT_P);
    }

    /**
     * @param k decoder tokens per chunk
     * @return k
     * @throws InvalidRequestException if it is below 1
     */
    public static int requireK(int k) {
        if (k < 1) {
            throw new InvalidRequestException("chunk size k must be >= 1 decoder tokens (REFRAG uses 8, 16 or 32), got "
                    + k);
        }
        return k;
    }

    /**
     * @param p expansion fraction
     * @return p
     * @throws InvalidRequestException if it is outside [0, 1] (or NaN)
     */
    public static double requireP(double p) {
        if (!(p >= 0 && p <= 1)) {
            throw new InvalidRequestException("expansion fraction p must be in [0, 1], got " + p);
        }
        return p;
    }

    /**
     * @param chunks a request's chunks
     * @return how many the policy expands: {@code round(p * chunks)}, at most {@code chunks}
     */
    public int budget(int chunks) {
        return budget(p, chunks);
    }

    /**
     * @param fraction an expansion fraction in [0, 1]
     * @param chunks a request's chunks
     * @return {@code round(fraction * chunks)}, at most {@code chunks}
     */
    public static int budget(double fraction, int chunks) {
        return Math.min(chunks, (int) Math.round(requireP(fraction) * chunks));
    }

    /**
     * @param policy a policy's name
     * @param fraction the fraction asked for
     * @return the fraction that policy serves: 0 for {@value PolicyNames#NONE}, which expands nothing whatever p says
     */
    public static double servedFraction(String policy, double fraction) {
        return PolicyNames.NONE.equals(policy) ? 0 : requireP(fraction);
    }
}
