package io.refrag.core.generate;

/**
 * A scheduler's load at one moment ({@link BatchedGenerator#stats()}), for gauges and health checks.
 *
 * @param queued requests waiting for a batch slot
 * @param active requests in the decode batch
 * @param decodeSteps decode steps run since the scheduler started
 * @param decodeRows rows over all those steps (their mean batch size is {@code decodeRows / decodeSteps})
 */
public record SchedulerStats(int queued, int active, long decodeSteps, long decodeRows) {
}
