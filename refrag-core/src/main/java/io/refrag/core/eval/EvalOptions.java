package io.refrag.core.eval;

import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.model.Compression;
import io.refrag.core.model.PolicyNames;

import java.util.List;

/**
 * What an evaluation measures.
 *
 * @param contextTokens s: context tokens before the targets (perplexity protocol)
 * @param targetTokens o: target tokens scored after the context; in QA, the most tokens an answer may take
 * @param ks chunk sizes of the REFRAG rows
 * @param ps expansion fractions of the REFRAG rows; p = 0 gives one row per k (no policy expands anything)
 * @param policies policies of the p &gt; 0 rows
 * @param documents most documents (or QA examples) evaluated
 * @param seed seed of the random policy (document i uses seed + i)
 */
public record EvalOptions(int contextTokens, int targetTokens, List<Integer> ks, List<Double> ps,
        List<String> policies, int documents, long seed) {
    /** Default s. */
    public static final int DEFAULT_CONTEXT_TOKENS = 64;
    /** Default o. */
    public static final int DEFAULT_TARGET_TOKENS = 32;
    /** Default chunk sizes. */
    public static final List<Integer> DEFAULT_KS = List.of(8, 16, 32);
    /** Default fractions. */
    public static final List<Double> DEFAULT_PS = List.of(0.0, 0.25);
    /** Default policies (add {@code learned} when a policy file exists). */
    public static final List<String> DEFAULT_POLICIES = List.of(PolicyNames.NONE, PolicyNames.RANDOM,
            PolicyNames.QUERY_SIMILARITY, PolicyNames.PERPLEXITY);
    /** Default number of documents. */
    public static final int DEFAULT_DOCUMENTS = 100;

    /** Validates the fields; messages name the field and the allowed values. */
    public EvalOptions {
        require(contextTokens >= 1, "s (context tokens) must be >= 1, got " + contextTokens);
        require(targetTokens >= 1, "o (target tokens) must be >= 1, got " + targetTokens);
        require(!ks.isEmpty() && !ps.isEmpty() && !policies.isEmpty(), "k, p and policy lists must not be empty");
        ks.forEach(Compression::requireK);
        ps.forEach(Compression::requireP);
        require(documents >= 1, "documents must be >= 1, got " + documents);
        ks = List.copyOf(ks);
        ps = List.copyOf(ps);
        policies = List.copyOf(policies);
    }

    /** @return the defaults: s = 64, o = 32, k = 8, 16, 32, p = 0, 0.25, the built-in policies, 100 documents */
    public static EvalOptions defaults() {
        return new EvalOptions(DEFAULT_CONTEXT_TOKENS, DEFAULT_TARGET_TOKENS, DEFAULT_KS, DEFAULT_PS,
                DEFAULT_POLICIES, DEFAULT_DOCUMENTS, 0);
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new InvalidRequestException("eval: " + message);
        }
    }
}
