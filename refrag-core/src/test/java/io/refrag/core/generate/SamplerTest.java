package io.refrag.core.generate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.refrag.core.exception.InvalidRequestException;
import org.junit.jupiter.api.Test;

class SamplerTest {
    private static final float[] LOGITS = {1f, 3f, -2f, 2.5f, 0f};

    @Test
    void greedyPicksTheArgmax() {
        assertEquals(1, new Sampler(GenerationOptions.defaults()).sample(LOGITS));
    }

    @Test
    void topKOneIsGreedyAndTopPRestrictsTheNucleus() {
        Sampler k1 = new Sampler(GenerationOptions.builder().optTemperature(1f).optTopK(1).optSeed(3).build());
        Sampler p = new Sampler(GenerationOptions.builder().optTemperature(1f).optTopP(0.5f).optSeed(3).build());
        for (int i = 0; i < 200; i++) {
            assertEquals(1, k1.sample(LOGITS));
            // softmax: token 1 has ~0.53 of the mass, so the 0.5 nucleus is token 1 alone
            assertEquals(1, p.sample(LOGITS));
        }
    }

    @Test
    void temperatureSamplingFollowsTheSoftmaxAndIsSeeded() {
        GenerationOptions o = GenerationOptions.builder().optTemperature(1f).optSeed(42).build();
        Sampler a = new Sampler(o);
        Sampler b = new Sampler(o);
        int[] counts = new int[LOGITS.length];
        for (int i = 0; i < 20000; i++) {
            int t = a.sample(LOGITS);
            assertEquals(t, b.sample(LOGITS), "same seed, same sequence");
            counts[t]++;
        }
        double z = 0;
        for (float l : LOGITS) {
            z += Math.exp(l);
        }
        for (int t = 0; t < LOGITS.length; t++) {
            double expected = Math.exp(LOGITS[t]) / z;
            assertEquals(expected, counts[t] / 20000.0, 0.015, "token " + t);
        }
        assertTrue(counts[2] > 0);
    }

    @Test
    void invalidOptionsAreRejected() {
        assertThrows(InvalidRequestException.class, () -> GenerationOptions.builder().optTemperature(-1f));
        assertThrows(InvalidRequestException.class, () -> GenerationOptions.builder().optTopP(0f));
        assertThrows(InvalidRequestException.class, () -> GenerationOptions.builder().optTopP(1.5f));
        assertThrows(InvalidRequestException.class, () -> GenerationOptions.builder().optTopK(-1));
        assertThrows(InvalidRequestException.class, () -> GenerationOptions.builder().optMaxNewTokens(0));
    }
}
