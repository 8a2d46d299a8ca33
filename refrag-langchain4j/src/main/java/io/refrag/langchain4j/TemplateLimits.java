package io.refrag.langchain4j;

import io.refrag.core.exception.InvalidRequestException;

import java.time.Duration;

/**
 * Bounds on rendering a chat template. A template comes with a downloaded model ({@code tokenizer_config.json}), so it
 * is untrusted code: without bounds, nested loops never return and string doubling exhausts the heap. A render that
 * passes a bound stops at once with an {@link InvalidRequestException} naming it.
 *
 * @param maxOutputChars the longest rendered prompt
 * @param maxValueChars the longest string, and the most elements of a list or map, a template variable may hold
 * @param maxNodes the most template nodes rendered (each loop iteration renders its body's nodes again)
 * @param maxRangeLength the longest {@code range()} a template may build
 * @param maxTime the longest a render may take
 */
public record TemplateLimits(long maxOutputChars, long maxValueChars, long maxNodes, int maxRangeLength,
        Duration maxTime) {
    /** 4 Mi characters of output and per value, a million nodes, ranges of 10,000, 2 s: far above real templates. */
    public static final TemplateLimits DEFAULT = new TemplateLimits(4L << 20, 4L << 20, 1_000_000, 10_000,
            Duration.ofSeconds(2));

    /** Checks that every bound is positive. */
    public TemplateLimits {
        if (maxOutputChars < 1 || maxValueChars < 1 || maxNodes < 1 || maxRangeLength < 1 || maxTime == null
                || maxTime.isNegative() || maxTime.isZero()) {
            throw new InvalidRequestException("template limits must all be > 0; got output " + maxOutputChars
                    + ", value " + maxValueChars + ", nodes " + maxNodes + ", range " + maxRangeLength + ", time "
                    + maxTime);
        }
    }
}
