/**
 * Expansion policies: {@code none}, {@code all}, {@code random}, {@code query-similarity}, {@code perplexity} and the
 * {@code learned} policy network, registered by {@link io.refrag.policy.BuiltInPolicies}.
 */
package io.refrag.policy;
