package io.refrag.policy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import io.refrag.core.checkpoint.SafetensorsCheckpoint;
import io.refrag.core.checkpoint.SafetensorsWriter;
import io.refrag.core.model.Chunk;
import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.exception.ModelLoadException;
import io.refrag.core.model.CausalDecoder;
import io.refrag.core.model.ExpansionPolicy;
import io.refrag.core.model.ModelOptions;
import io.refrag.core.model.PolicyInput;
import io.refrag.core.model.Precision;
import io.refrag.core.spi.Providers;
import io.refrag.core.testing.FakeDecoder;
import io.refrag.core.tensor.Device;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Predicate;

class PoliciesTest {
    private static final ModelOptions CPU = new ModelOptions(Device.CPU, Precision.FP32);

    @TempDir
    Path tmp;

    /** Two passages: 3 chunks then 2 chunks; token ids encode (passage, chunk). */
    private static List<Chunk> chunks() {
        List<Chunk> out = new ArrayList<>();
        int[][] sizes = {{4, 4, 2}, {4, 3}};
        for (int p = 0; p < sizes.length; p++) {
            for (int i = 0; i < sizes[p].length; i++) {
                int[] ids = new int[sizes[p][i]];
                Arrays.fill(ids, 10 * p + i);
                out.add(new Chunk(p, i, ids, "p" + p + "c" + i, 0, 1));
            }
        }
        return out;
    }

    private static PolicyInput input(float[][] embeddings, float[] query, CausalDecoder decoder, long seed) {
        return new PolicyInput(chunks(), embeddings, "q", query, decoder, seed);
    }

    @Test
    void registeredNamesResolveAndUnknownOnesAreListed() {
        for (String name : List.of("none", "all", "random", "query-similarity", "perplexity", "learned")) {
            try (ExpansionPolicy p = Providers.loadPolicy(name, null, CPU)) {
                assertEquals(name, p.name());
            }
        }
        var e = assertThrows(InvalidRequestException.class, () -> Providers.loadPolicy("best", null, CPU));
        assertTrue(e.getMessage().contains("'best'") && e.getMessage().contains("query-similarity"), e.getMessage());
    }

    @Test
    void noneAndAllIgnoreTheBudget() {
        assertArrayEquals(new int[0], new NoExpansionPolicy().select(input(null, null, null, 0), 3));
        assertArrayEquals(new int[] {0, 1, 2, 3, 4}, new ExpandAllPolicy().select(input(null, null, null, 0), 1));
    }

    @Test
    void randomIsSeededDistinctAndWithinBudget() {
        RandomPolicy p = new RandomPolicy();
        int[] a = p.select(input(null, null, null, 7), 3);
        assertArrayEquals(a, p.select(input(null, null, null, 7), 3));
        assertEquals(3, Arrays.stream(a).distinct().count());
        boolean differs = false;
        for (long seed = 8; seed < 20 && !differs; seed++) {
            differs = !Arrays.equals(a, p.select(input(null, null, null, seed), 3));
        }
        assertTrue(differs, "different seeds should give different subsets");
    }

    @Test
    void querySimilarityExpandsTheMostSimilarChunks() {
        float[][] emb = {{1, 0}, {0, 1}, {0.9f, 0.1f}, {-1, 0}, {0.7f, 0.7f}};
        int[] picked = new QuerySimilarityPolicy().select(input(emb, new float[] {1, 0}, null, 0), 2);
        assertArrayEquals(new int[] {0, 2}, picked);
    }

    @Test
    void perplexityExpandsTheHardestChunksScoringEachPassageInWindows() {
        FakeDecoder d = new FakeDecoder(6);
        int[] picked = new PerplexityPolicy().select(input(null, null, d, 0), 2);
        assertArrayEquals(new int[] {3, 4}, picked); // passage 1's chunks have ids 10 and 11
        // passages of 10 and 7 tokens in windows of maxPositions - 1 = 5 targets
        assertEquals(List.of(5, 5, 5, 2), d.scored.stream().map(t -> t.length).toList());
    }

    @Test
    void learnedPolicySelectsByLogitsAndRoundTripsThroughSafetensors() {
        Path file = tmp.resolve("policy.safetensors");
        float[][] emb = {{1, 0, 0, 1}, {0, 1, 1, 0}, {0.5f, 0.5f, 0, 0}, {0, 0, 1, 1}, {1, 1, 1, 1}};
        int[] expected;
        try (PolicyNetwork net = PolicyNetwork.create(NDManager.newBaseManager(), 4, 8, 2, 2, 3);
                LearnedPolicy policy = new LearnedPolicy(net)) {
            expected = policy.select(input(emb, null, null, 0), 2);
            assertEquals(2, expected.length);
            net.save(file);
        }
        try (LearnedPolicy loaded = LearnedPolicy.load(file, CPU)) {
            assertArrayEquals(expected, loaded.select(input(emb, null, null, 0), 2));
            var e = assertThrows(InvalidRequestException.class,
                    () -> loaded.select(input(new float[][] {{1, 2, 3}}, null, null, 0), 1));
            assertTrue(e.getMessage().contains("width 4"), e.getMessage());
        }
    }

    @Test
    void pointerMaskNeverRepeatsAChunk() {
        int[] picked = PolicyNetwork.selectGreedy(new float[] {0.1f, 3f, 3f, -1f, 2f}, 4);
        assertArrayEquals(new int[] {1, 2, 4, 0}, picked);
        assertNotEquals(picked[0], picked[1]);
    }

    @Test
    void aPolicyFileWithBadMetadataOrShapesIsRejectedClearly() {
        Path good = tmp.resolve("good.safetensors");
        try (PolicyNetwork net = PolicyNetwork.create(NDManager.newBaseManager(), 4, 8, 2, 2, 3)) {
            net.save(good);
        }
        for (String heads : new String[] {"abc", "0", "-2"}) {
            Path bad = rewrite(good, heads, "heads-" + heads, name -> true, name -> false);
            var e = assertThrows(ModelLoadException.class, () -> LearnedPolicy.load(bad, CPU));
            assertTrue(e.getMessage().contains(PolicyNetwork.HEADS_KEY) && e.getMessage().contains("'" + heads + "'"),
                    e.getMessage());
        }
        Path missing = rewrite(good, "2", "missing", name -> !name.equals("layers.1.linear2.bias"), name -> false);
        var e = assertThrows(ModelLoadException.class, () -> LearnedPolicy.load(missing, CPU));
        assertTrue(e.getMessage().contains("a policy network of 2 layers has the tensors"), e.getMessage());
        Path reshaped = rewrite(good, "2", "reshaped", name -> true, name -> name.equals("head.weight"));
        e = assertThrows(ModelLoadException.class, () -> LearnedPolicy.load(reshaped, CPU));
        assertTrue(e.getMessage().contains("policy tensor 'head.weight' has shape [2, 8], expected [1, 8]"),
                e.getMessage());
    }

    /** Copies a policy file with other head metadata, only the kept tensors, and doubled rows for the widened ones. */
    private Path rewrite(Path from, String heads, String name, Predicate<String> keep, Predicate<String> widen) {
        Path to = tmp.resolve(name + ".safetensors");
        SafetensorsWriter w = new SafetensorsWriter().metadata(PolicyNetwork.HEADS_KEY, heads);
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.openFile(from)) {
            for (String t : c.names().stream().filter(keep).toList()) {
                float[] v = c.readFloats(t);
                long[] shape = c.info(t).shape().clone();
                if (widen.test(t)) {
                    v = Arrays.copyOf(v, v.length * 2);
                    shape[0] *= 2;
                }
                w.add(t, v, shape);
            }
        }
        w.write(to);
        return to;
    }
}
