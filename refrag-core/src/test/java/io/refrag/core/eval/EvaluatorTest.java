package io.refrag.core.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.refrag.core.Refrag;
import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.model.ExpansionPolicy;
import io.refrag.core.model.PolicyInput;
import io.refrag.core.testing.FakeDecoder;
import io.refrag.core.testing.FakeEncoder;
import io.refrag.core.testing.FakeProjector;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Evaluation arithmetic on fakes whose NLLs are known exactly: the fake decoder's NLL of a target is its id / 10
 * divided by the length of the context before it.
 */
class EvaluatorTest {
    /** Expands the first chunks. */
    private record FirstChunks() implements ExpansionPolicy {
        @Override
        public String name() {
            return "first";
        }

        @Override
        public int[] select(PolicyInput input, int budget) {
            return IntStream.range(0, budget).toArray();
        }
    }

    private static Refrag refrag() {
        return Refrag.builder().setDecoder(new FakeDecoder(256)).optEncoder(new FakeEncoder())
                .optProjector(new FakeProjector()).optPolicy(new FirstChunks()).build();
    }

    @Test
    void everyModeScoresTheSameTargetsAfterItsOwnContext() {
        // s = 8 context characters, o = 4 targets; k = 4 gives 2 chunks; p = 0.5 expands the first.
        EvalOptions o = new EvalOptions(8, 4, List.of(4), List.of(0.0, 0.5), List.of("first"), 2, 0);
        List<int[]> progress = new ArrayList<>();
        try (Refrag r = refrag()) {
            EvalReport report = new Evaluator(r, o).perplexity(List.of("abcdefghijkl", "xy", "mnopqrstuvwx"),
                    (done, total) -> progress.add(new int[] {done, total}));
            assertEquals(2, report.documents());
            assertEquals(1, report.skipped(), "\"xy\" is shorter than s + o");
            assertEquals(List.of(1, 2), progress.stream().map(p -> p[0]).toList());
            double targets = ('i' + 'j' + 'k' + 'l' + 'u' + 'v' + 'w' + 'x') / 8.0 / 10; // mean target id / 10
            List<EvalRow> rows = report.rows();
            assertEquals(List.of("none", "full", "refrag k=4 p=0.0", "refrag k=4 p=0.5 first"),
                    rows.stream().map(EvalRow::label).toList());
            double[] context = {1, 1 + 8, 1 + 2, 1 + 4 + 1}; // BOS; + 8 tokens; + 2 chunks; + 4 tokens + 1 chunk
            for (int i = 0; i < rows.size(); i++) {
                assertEquals(targets / context[i], rows.get(i).meanNll(), 1e-5, rows.get(i).label());
                assertEquals(Math.exp(rows.get(i).meanNll()), rows.get(i).perplexity(), 1e-9);
                assertEquals(context[i], rows.get(i).decoderInputLength(), 1e-9);
                double expected = (1 - 1 / context[i]) / (1 - 1 / context[1]);
                assertEquals(expected, rows.get(i).gainKept(), 1e-5, rows.get(i).label());
                assertTrue(rows.get(i).ttftMillis() > 0);
                assertTrue(Double.isNaN(rows.get(i).exactMatch()), "no QA metric in the perplexity protocol");
            }
            assertEquals(0.75, rows.get(2).gainKept(), 1e-5);
        }
    }

    @Test
    void qaScoresEveryModesGreedyAnswer() {
        EvalOptions o = new EvalOptions(8, 4, List.of(4), List.of(0.0), List.of("first"), 5, 0);
        try (Refrag r = refrag()) {
            // The fake decoder always answers "abcd": right for the first question, half right for the second.
            EvalReport report = new Evaluator(r, o).qa(List.of(
                    new QaExample("q?", List.of("some passage"), List.of("zz", "ABCD.")),
                    new QaExample("q2?", List.of("another passage"), List.of("abcd efgh"))), (done, total) -> { });
            assertEquals(2, report.documents());
            for (EvalRow row : report.rows()) {
                assertEquals(0.5, row.exactMatch(), 1e-9, row.label());
                assertEquals((1 + 2.0 / 3) / 2, row.f1(), 1e-9, row.label());
                assertTrue(Double.isFinite(row.meanNll()));
            }
        }
    }

    @Test
    void badOptionsAndCorporaNameWhatIsAllowed() {
        InvalidRequestException e = assertThrows(InvalidRequestException.class,
                () -> new EvalOptions(0, 4, List.of(4), List.of(0.0), List.of("first"), 1, 0));
        assertTrue(e.getMessage().contains("s (context tokens) must be >= 1"), e.getMessage());
        e = assertThrows(InvalidRequestException.class,
                () -> new EvalOptions(8, 0, List.of(4), List.of(0.0), List.of("first"), 1, 0));
        assertTrue(e.getMessage().contains("o (target tokens) must be >= 1"), e.getMessage());
        e = assertThrows(InvalidRequestException.class,
                () -> new EvalOptions(8, 4, List.of(4), List.of(1.5), List.of("first"), 1, 0));
        assertTrue(e.getMessage().contains("[0, 1]"), e.getMessage());
        try (Refrag r = refrag()) {
            Evaluator ev = new Evaluator(r, new EvalOptions(8, 4, List.of(4), List.of(0.0), List.of("first"), 1, 0));
            e = assertThrows(InvalidRequestException.class, () -> ev.perplexity(List.of("short"), (d, t) -> { }));
            assertTrue(e.getMessage().contains("no document has s + o = 12 tokens (1 skipped)"), e.getMessage());
        }
    }
}
