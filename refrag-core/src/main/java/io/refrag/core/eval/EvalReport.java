package io.refrag.core.eval;

import java.util.List;

/**
 * An evaluation's rows.
 *
 * @param rows none, full, then the REFRAG rows in (k, p, policy) order
 * @param documents documents (or QA examples) evaluated
 * @param skipped documents too short for s + o tokens
 */
public record EvalReport(List<EvalRow> rows, int documents, int skipped) {
    /** Copies the rows. */
    public EvalReport {
        rows = List.copyOf(rows);
    }

    /**
     * @param mode no context or full context
     * @return that mode's row
     * @throws IllegalArgumentException for {@link EvalMode#REFRAG}, which has a row per (k, p, policy)
     */
    public EvalRow row(EvalMode mode) {
        if (mode == EvalMode.REFRAG) {
            throw new IllegalArgumentException("REFRAG has a row per (k, p, policy): use refragRow");
        }
        return rows.stream().filter(r -> r.mode() == mode).findFirst().orElseThrow();
    }

    /**
     * @param k a chunk size the evaluation measured
     * @return the first REFRAG row at that k
     * @throws java.util.NoSuchElementException if none was measured
     */
    public EvalRow refragRow(int k) {
        return rows.stream().filter(r -> r.mode() == EvalMode.REFRAG && r.k() == k).findFirst().orElseThrow();
    }
}
