/**
 * Splitting retrieved passages into k-decoder-token chunks that never span two passages, and turning chunks into
 * projected embeddings (encoder, projector, through the cache).
 */
package io.refrag.core.chunk;
