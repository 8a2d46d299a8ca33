/**
 * JMH benchmarks on random-weight models at real shapes: decoder prefill and decode step, chunk encoding and cache
 * cost, and REFRAG against full context (TTFT and generation time). Run with
 * {@code java -cp refrag-bench/target/refrag-bench.jar org.openjdk.jmh.Main <regex> -rf json}.
 */
package io.refrag.bench.jmh;
