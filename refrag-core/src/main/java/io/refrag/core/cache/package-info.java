/**
 * Chunk-embedding caches keyed by (encoder id, projector id, chunk text): a bounded in-memory LRU, a crash-safe
 * persistent store of safetensors segments, and a tier of the two.
 */
package io.refrag.core.cache;
