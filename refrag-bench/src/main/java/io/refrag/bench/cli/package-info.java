/** The {@code refrag} command line: {@code generate}, {@code perplexity}, {@code compare}. */
package io.refrag.bench.cli;
