package io.refrag.core;

import io.refrag.core.exception.ContextTooLongException;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.function.ToIntBiFunction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ContextFitTest {
    /** Every passage is 64 tokens and compresses to 64 / k positions; text is 10 positions. */
    private static final ToIntBiFunction<RefragRequest, Integer> MEASURE = (r, k) -> 10 + r.segments().stream()
            .filter(s -> s instanceof RefragRequest.Context).mapToInt(s -> ((RefragRequest.Context) s).passages()
                    .size() * 64 / k).sum();

    private static RefragRequest twoTurns(int older, int newer) {
        return RefragRequest.builder().text("Q1").context(List.of("o1", "o2", "o3").subList(0, older)).text("Q2")
                .context(List.of("n1", "n2", "n3", "n4").subList(0, newer)).text("A:").build();
    }

    private static List<String> passages(RefragRequest r, int context) {
        return r.segments().stream().filter(s -> s instanceof RefragRequest.Context)
                .map(s -> ((RefragRequest.Context) s).passages()).toList().get(context);
    }

    @Test
    void aRequestThatFitsComesBackUnchanged() {
        RefragRequest r = twoTurns(3, 4);
        RefragOptions o = RefragOptions.builder().optK(8).build();
        ContextFit fit = ContextFit.fit(r, o, 66, MEASURE); // 10 + 7 * 8
        assertSame(r, fit.request());
        assertEquals(0, fit.droppedPassages());
        assertEquals(66, fit.length());
    }

    @Test
    void theLowestRankedPassagesGoFirstTheEarliestContextFirst() {
        ContextFit fit = ContextFit.fit(twoTurns(3, 4), RefragOptions.builder().optK(8).build(), 10 + 3 * 8,
                MEASURE);
        assertEquals(4, fit.droppedPassages());
        assertEquals(1, fit.request().segments().stream().filter(s -> s instanceof RefragRequest.Context).count(),
                "the older turn's context is gone");
        assertEquals(List.of("n1", "n2", "n3"), passages(fit.request(), 0));
        assertEquals(8, fit.options().k());
    }

    @Test
    void thenKIsRaised() {
        ContextFit fit = ContextFit.fit(twoTurns(2, 2), RefragOptions.builder().optK(8).build(), 10 + 3, MEASURE);
        assertEquals(3, fit.droppedPassages(), "down to one passage in the last context");
        assertEquals(List.of("n1"), passages(fit.request(), 0));
        assertEquals(32, fit.options().k());
        assertEquals(12, fit.length());
        assertTrue(fit.length() <= 13);
    }

    @Test
    void whatCannotFitIsRefusedWithTheNumbers() {
        ContextTooLongException e = assertThrows(ContextTooLongException.class, () -> ContextFit.fit(twoTurns(1, 1),
                RefragOptions.builder().optK(8).build(), 11, MEASURE));
        assertTrue(e.getMessage().contains("k = 32") && e.getMessage().contains("12 positions, 11 allowed"),
                e.getMessage());
    }
}
