/** Micrometer meters for a pipeline ({@link io.refrag.core.metrics.RefragMeters}); Micrometer is optional. */
package io.refrag.core.metrics;
