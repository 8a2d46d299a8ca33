package io.refrag.core.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

import java.util.List;

/** SQuAD normalisation, exact match and token F1. */
class QaMetricsTest {
    @Test
    void normalisationDropsCaseArticlesPunctuationAndExtraSpaces() {
        assertEquals("cat", QaMetrics.normalize("The Cat!"));
        assertEquals("river thames", QaMetrics.normalize("  the   River, Thames. "));
        assertEquals("b", QaMetrics.normalize("a  b an"));
        assertEquals("theater", QaMetrics.normalize("Theater"), "only whole-word articles go");
        assertEquals("", QaMetrics.normalize(" ... "));
    }

    @Test
    void exactMatchTakesTheBestReference() {
        assertEquals(1, QaMetrics.exactMatch("the Thames.", List.of("Seine", "Thames")));
        assertEquals(0, QaMetrics.exactMatch("Thames river", List.of("Thames")));
    }

    @Test
    void f1CountsSharedTokensAgainstTheBestReference() {
        assertEquals(2.0 / 3, QaMetrics.f1("the big cat", List.of("a cat")), 1e-12);
        assertEquals(1, QaMetrics.f1("big cat", List.of("dog", "Cat, big")), 1e-12);
        assertEquals(0.5, QaMetrics.f1("cat cat", List.of("cat dog")), 1e-12, "each reference token counts once");
        assertEquals(0, QaMetrics.f1("", List.of("cat")), 1e-12);
        assertEquals(1, QaMetrics.f1("the", List.of("a")), 1e-12, "both empty after normalisation");
    }
}
