package io.refrag.core;

import io.refrag.core.exception.ContextTooLongException;
import io.refrag.core.plan.PromptPlan;

import java.util.ArrayList;
import java.util.List;
import java.util.function.ToIntBiFunction;

/**
 * What {@link Refrag#fit} did to make an over-long request fit the decoder: an opt-in policy for front ends that
 * would rather answer from less context than refuse. First the lowest-ranked passages go (each context's last passage,
 * the earliest context first, down to one passage in the last context), then k is raised (16, then 32) so that every
 * compressed chunk covers more tokens. The request is measured at its longest: the chunks the policy could expand
 * counted at their full length.
 *
 * @param request the request that fits (the original one when nothing was needed)
 * @param options its options ({@code k} raised where that was needed: {@code options().k()} is the chunk size used)
 * @param droppedPassages passages left out
 * @param length the request's longest decoder length after fitting
 */
public record ContextFit(RefragRequest request, RefragOptions options, int droppedPassages, int length) {
    /** The largest chunk size the fit raises k to (the paper's largest). */
    public static final int LARGEST_K = 32;

    /**
     * @param request the request
     * @param options its options
     * @param limit positions the prompt may take
     * @param measure the longest decoder length of a request at a chunk size (tokenization only)
     * @return the fitted request
     * @throws ContextTooLongException if no passages and chunk size fit
     */
    static ContextFit fit(RefragRequest request, RefragOptions options, int limit,
            ToIntBiFunction<RefragRequest, Integer> measure) {
        int length = measure.applyAsInt(request, options.k());
        if (length <= limit) {
            return new ContextFit(request, options, 0, length);
        }
        List<List<String>> contexts = new ArrayList<>();
        for (RefragRequest.Segment s : request.segments()) {
            if (s instanceof RefragRequest.Context c) {
                contexts.add(new ArrayList<>(c.passages()));
            }
        }
        int dropped = 0;
        RefragRequest fitted = request;
        while (length > limit && drop(contexts)) {
            dropped++;
            fitted = rebuild(request, contexts);
            length = measure.applyAsInt(fitted, options.k());
        }
        int k = options.k();
        while (length > limit && k < LARGEST_K && !options.fullContext()) {
            k = Math.min(LARGEST_K, Math.max(k * 2, 16));
            length = measure.applyAsInt(fitted, k);
        }
        if (length > limit) {
            throw new ContextTooLongException("the request does not fit even with one passage and k = " + k + ": "
                    + length + " positions, " + limit + " allowed", length, limit);
        }
        RefragOptions fittedOptions = k == options.k() ? options : options.toBuilder().optK(k).build();
        return new ContextFit(fitted, fittedOptions, dropped, length);
    }

    /** Drops one passage: the last of the earliest context holding more than it must keep; false if none can go. */
    private static boolean drop(List<List<String>> contexts) {
        for (int i = 0; i < contexts.size(); i++) {
            List<String> c = contexts.get(i);
            int keep = i == contexts.size() - 1 ? 1 : 0;
            if (c.size() > keep) {
                c.remove(c.size() - 1);
                return true;
            }
        }
        return false;
    }

    private static RefragRequest rebuild(RefragRequest request, List<List<String>> contexts) {
        RefragRequest.Builder b = RefragRequest.builder();
        int next = 0;
        for (RefragRequest.Segment s : request.segments()) {
            if (s instanceof RefragRequest.Text t) {
                b.text(t.text());
            } else {
                List<String> kept = contexts.get(next++);
                if (!kept.isEmpty()) {
                    b.context(kept);
                }
            }
        }
        return b.build();
    }

    /**
     * @param plan a request's plan
     * @param options its options
     * @return its longest decoder length
     */
    static int longest(PromptPlan plan, RefragOptions options) {
        return options.fullContext() ? plan.fullContextLength()
                : plan.maxLength(options.budget(plan.chunks().size()));
    }
}
