package io.refrag.core.generate;

import java.util.List;

/** Finding stop sequences in generated text, and how much of its end may still become one. */
final class StopSequences {
    private StopSequences() {
    }

    /** @return where the earliest stop sequence starts in {@code text}, or -1 */
    static int firstIndex(String text, List<String> stops) {
        int first = -1;
        for (String s : stops) {
            int i = text.indexOf(s);
            if (i >= 0 && (first < 0 || i < first)) {
                first = i;
            }
        }
        return first;
    }

    /** @return the length of the longest end of {@code text} that is the start of a stop sequence */
    static int pendingLength(String text, List<String> stops) {
        int longest = 0;
        for (String s : stops) {
            for (int len = Math.min(s.length() - 1, text.length()); len > longest; len--) {
                if (text.regionMatches(text.length() - len, s, 0, len)) {
                    longest = len;
                    break;
                }
            }
        }
        return longest;
    }
}
