package io.refrag.bench.cli;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * Progress of long work on stderr, with the total, the elapsed time and an ETA: a bar redrawn in place on a terminal,
 * else a line at every tenth. Silent when the results go to a pipe as JSON, so that nothing mixes into machine output
 * streams that a user redirected together.
 */
final class Progress {
    private static final int WIDTH = 30;

    private final String label;
    private final PrintWriter err;
    private final boolean enabled;
    private final boolean terminal;
    private final long start = System.nanoTime();
    private long lastTenth = -1;

    /**
     * @param label what is counted, e.g. {@code eval}
     * @param err where progress goes
     * @param json whether results are printed as JSON
     */
    Progress(String label, PrintWriter err, boolean json) {
        this.label = label;
        this.err = err;
        this.terminal = System.console() != null;
        this.enabled = !(json && !terminal);
    }

    /**
     * @param done work finished so far
     * @param total all the work
     */
    void update(long done, long total) {
        update(done, total, "");
    }

    /**
     * @param done work finished so far
     * @param total all the work
     * @param detail what to show after the ETA (e.g. the training loss), or empty
     */
    void update(long done, long total, String detail) {
        if (!enabled || total < 1) {
            return;
        }
        double elapsed = (System.nanoTime() - start) / 1e9;
        double eta = done == 0 ? Double.NaN : elapsed / done * (total - done);
        String numbers = String.format(Locale.ROOT, "%s: %d/%d, %.1f s, ETA %s%s", label, done, total, elapsed,
                Double.isNaN(eta) ? "?" : String.format(Locale.ROOT, "%.1f s", eta),
                detail.isEmpty() ? "" : ", " + detail);
        if (terminal) {
            int filled = (int) (WIDTH * done / total);
            err.print("\r" + numbers + " [" + "#".repeat(filled) + ".".repeat(WIDTH - filled) + "]"
                    + (done >= total ? System.lineSeparator() : ""));
            err.flush();
        } else if (done * 10 / total > lastTenth || done >= total) {
            lastTenth = done * 10 / total;
            err.println(numbers);
        }
    }
}
