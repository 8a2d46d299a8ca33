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
}
