/** Splitting retrieved passages into k-decoder-token chunks that never span two passages. */
package io.refrag.core.chunk;
