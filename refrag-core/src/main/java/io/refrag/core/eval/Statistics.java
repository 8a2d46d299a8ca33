package io.refrag.core.eval;

import io.refrag.core.exception.InvalidRequestException;

import java.util.Arrays;

/** Summaries of repeated measurements (timings vary run to run; reports give medians). */
public final class Statistics {
    private Statistics() {
    }

    /**
     * @param values measurements (not changed)
     * @return their median: the middle value, or the mean of the two middle ones
     * @throws InvalidRequestException if there are none
     */
    public static double median(double... values) {
        if (values.length == 0) {
            throw new InvalidRequestException("the median of no values is undefined");
        }
        double[] s = values.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
