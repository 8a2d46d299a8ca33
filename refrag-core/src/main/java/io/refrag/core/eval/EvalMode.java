package io.refrag.core.eval;

import java.util.Locale;

/** What an evaluation row feeds the decoder before the targets. */
public enum EvalMode {
    /** BOS only: the no-context baseline. */
    NONE,
    /** Every context token: the full-context reference. */
    FULL,
    /** REFRAG: chunks compressed to one embedding each, a fraction p expanded by a policy. */
    REFRAG;

    /** @return the mode's name in reports and JSON: {@code none}, {@code full} or {@code refrag} */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
