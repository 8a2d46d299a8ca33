package io.refrag.core.chunk;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.model.Chunk;
import io.refrag.core.testing.SharedModels;
import io.refrag.core.tokenizer.HfTextTokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;

/** Chunking real corpus passages with the stories260K tokenizer. */
class ChunkerIT {
    private static HfTextTokenizer tokenizer;
    private static List<String> passages;

    @BeforeAll
    static void load() throws Exception {
        tokenizer = HfTextTokenizer.load(SharedModels.stories(), false, 0);
        passages = Files.readAllLines(SharedModels.path("data/corpus_small.txt")).subList(0, 20);
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 8, 16, 32})
    void chunksCoverEachPassageExactlyAndNeverSpanTwo(int k) {
        List<Chunk> chunks = new Chunker(tokenizer).chunk(passages, k);
        for (int p = 0; p < passages.size(); p++) {
            int passage = p;
            List<Chunk> own = chunks.stream().filter(c -> c.passage() == passage).toList();
            List<Integer> ids = new ArrayList<>();
            for (int i = 0; i < own.size(); i++) {
                Chunk c = own.get(i);
                assertEquals(i, c.index());
                assertTrue(c.length() >= 1 && c.length() <= k);
                if (i < own.size() - 1) {
                    assertEquals(k, c.length(), "only a passage's last chunk may be short");
                }
                assertEquals(passages.get(p).substring(c.charStart(), c.charEnd()), c.text());
                for (int id : c.tokenIds()) {
                    ids.add(id);
                }
            }
            int[] expected = tokenizer.encode(passages.get(p)).ids();
            assertArrayEquals(expected, ids.stream().mapToInt(Integer::intValue).toArray(), "passage " + p);
            assertTrue(expected[0] != 1, "no BOS inside chunks");
        }
    }

    @Test
    void chunkTextsJoinBackIntoTheAsciiPassage() {
        List<Chunk> chunks = new Chunker(tokenizer).chunk(List.of("The cat sat on the mat and then it ran to the park."), 4);
        StringBuilder joined = new StringBuilder();
        for (Chunk c : chunks) {
            joined.append(c.text());
        }
        assertEquals("The cat sat on the mat and then it ran to the park.", joined.toString().strip());
    }

    @Test
    void invalidInputsAreRejected() {
        Chunker chunker = new Chunker(tokenizer);
        var k0 = assertThrows(InvalidRequestException.class, () -> chunker.chunk(List.of("text"), 0));
        assertTrue(k0.getMessage().contains("k must be >= 1"), k0.getMessage());
        assertThrows(InvalidRequestException.class, () -> chunker.chunk(List.of(), 8));
        var blank = assertThrows(InvalidRequestException.class, () -> chunker.chunk(List.of("ok", "  "), 8));
        assertTrue(blank.getMessage().contains("passage 1"), blank.getMessage());
    }
}
