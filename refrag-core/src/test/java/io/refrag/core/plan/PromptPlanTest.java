package io.refrag.core.plan;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.refrag.core.model.Chunk;
import io.refrag.core.exception.RefragException;
import io.refrag.core.model.DecoderInfo;
import io.refrag.core.model.DecoderInput;
import org.junit.jupiter.api.Test;

import java.util.List;

/** The prompt layout: BOS, lengths, runs in document order and rendering for serving. */
class PromptPlanTest {
    private static final DecoderInfo WITH_BOS = new DecoderInfo(2, 128, 64, 1, new int[0]);
    private static final DecoderInfo NO_BOS = new DecoderInfo(2, 128, 64, -1, new int[0]);

    private static Chunk chunk(int index, int... ids) {
        return new Chunk(0, index, ids, "c" + index, 0, 0);
    }

    /** text [7, 8], chunks of 3, 1 and 2 tokens, text [9]. */
    private static PromptPlan plan(DecoderInfo info) {
        return PromptPlan.builder(info).tokens(new int[] {7, 8})
                .chunks(List.of(chunk(0, 20, 21, 22), chunk(1, 30), chunk(2, 40, 41)))
                .tokens(new int[] {9}).build();
    }

    @Test
    void bosLeadsWhenTheDecoderHasOne() {
        assertEquals(4, plan(WITH_BOS).textTokens());
        assertEquals(3, plan(NO_BOS).textTokens());
        assertArrayEquals(new int[] {1, 7, 8}, ((PromptPlan.TokenRun) plan(WITH_BOS).runs().get(0)).ids());
        assertArrayEquals(new int[] {7, 8}, ((PromptPlan.TokenRun) plan(NO_BOS).runs().get(0)).ids());
    }

    @Test
    void lengthsCountOnePositionPerCompressedChunk() {
        PromptPlan p = plan(WITH_BOS);
        assertEquals(4 + 3, p.length());
        assertEquals(4 + 6, p.fullContextLength());
        assertEquals(p.fullContextLength(), p.withAllExpanded().length());
        assertEquals(4 + 3 - 1 + 2, p.withExpanded(new int[] {2}).length());
        assertEquals(4 + 2 + 1, p.minLength(1), "the shortest chunk (1 token) expanded");
        assertEquals(4 + 1 + 1 + 2, p.minLength(2));
    }

    @Test
    void runsKeepDocumentOrderAndMergeAdjacentTokens() {
        List<PromptPlan.Run> runs = plan(WITH_BOS).withExpanded(new int[] {1, 0}).runs();
        assertEquals(3, runs.size());
        assertArrayEquals(new int[] {1, 7, 8, 20, 21, 22, 30}, ((PromptPlan.TokenRun) runs.get(0)).ids());
        assertArrayEquals(new int[] {2}, ((PromptPlan.CompressedRun) runs.get(1)).chunks());
        assertArrayEquals(new int[] {9}, ((PromptPlan.TokenRun) runs.get(2)).ids());
        assertArrayEquals(new int[] {2}, plan(WITH_BOS).withExpanded(new int[] {1, 0}).compressedChunks());
    }

    @Test
    void rendersCompressedChunksAsTheirEmbeddingRows() {
        float[][] rows = {{0.5f, 0}, null, {2.5f, 1}};
        DecoderInput in = plan(NO_BOS).withExpanded(new int[] {1}).toDecoderInput(rows);
        assertEquals(6, in.length());
        List<DecoderInput.Segment> s = in.segments();
        assertArrayEquals(new int[] {7, 8}, ((DecoderInput.Tokens) s.get(0)).ids());
        assertArrayEquals(rows[0], ((DecoderInput.Embeddings) s.get(1)).rows()[0]);
        assertArrayEquals(new int[] {30}, ((DecoderInput.Tokens) s.get(2)).ids());
        assertArrayEquals(rows[2], ((DecoderInput.Embeddings) s.get(3)).rows()[0]);
        assertArrayEquals(new int[] {9}, ((DecoderInput.Tokens) s.get(4)).ids());
    }

    @Test
    void rejectsInvalidOrRepeatedExpansions() {
        PromptPlan p = plan(WITH_BOS);
        RefragException e = assertThrows(RefragException.class, () -> p.withExpanded(new int[] {3}));
        assertTrue(e.getMessage().contains("invalid or repeated chunk index 3 to expand (chunks: 3)"), e.getMessage());
        assertThrows(RefragException.class, () -> p.withExpanded(new int[] {1, 1}));
    }
}
