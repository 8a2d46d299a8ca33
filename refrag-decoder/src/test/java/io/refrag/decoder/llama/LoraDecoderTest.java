package io.refrag.decoder.llama;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import io.refrag.core.generate.GenerationOptions;
import io.refrag.core.generate.Generator;
import io.refrag.core.lora.LoraConfig;
import io.refrag.core.model.DecoderInput;
import io.refrag.core.model.ModelOptions;
import io.refrag.core.model.Precision;
import io.refrag.core.tensor.Device;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** LoRA on the LLaMA decoder: zero start, frozen base, merged (packed, fused) against unmerged, file against memory. */
class LoraDecoderTest {
    private static final ModelOptions CPU = new ModelOptions(Device.CPU, Precision.FP32);
    private static final int[] IDS = {1, 5, 9, 12, 3, 7, 30, 2};
    private static final LoraConfig CONFIG = LoraConfig.of(4, 8, 0, List.of("q_proj", "v_proj", "down_proj"));

    @TempDir
    Path tmp;

    private static float[] logits(LlamaDecoder d) {
        try (NDManager m = NDManager.newBaseManager(ai.djl.Device.cpu())) {
            return d.logits(d.inputsEmbeds(m.create(IDS)), 0).toFloatArray();
        }
    }

    private static int[] greedy(LlamaDecoder d) {
        return Generator.generate(d, DecoderInput.ofTokens(IDS), GenerationOptions.builder().optMaxNewTokens(6)
                .build(), System.nanoTime()).tokenIds();
    }

    @Test
    void adaptersStartAsTheBaseTrainAloneAndServeMergedAsUnmerged() {
        Path model = RandomLlamaCheckpoint.builder().seed(5).write(tmp.resolve("m"));
        Path adapterDir = tmp.resolve("adapter");
        float[] base;
        float[] adapted;
        try (LlamaDecoder d = LlamaDecoder.load(model, CPU.withTrainable())) {
            base = logits(d);
            Map<String, NDArray> weights = Map.copyOf(d.model().weights().asMap());
            d.addAdapter(CONFIG, 3);
            assertArrayEquals(base, logits(d), 0, "B = 0: the adapted decoder is the base decoder");
            Map<String, NDArray> params = d.parameters();
            assertTrue(params.keySet().stream().allMatch(k -> k.contains(".lora_A.") || k.contains(".lora_B.")));
            params.values().forEach(p -> p.setRequiresGradient(true));
            try (NDManager m = NDManager.newBaseManager(ai.djl.Device.cpu());
                    GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                gc.backward(d.logits(d.inputsEmbeds(m.create(IDS)), 0).logSoftmax(-1).get(":, 3").sum());
            }
            params.forEach((k, p) -> {
                if (k.contains(".lora_B.")) {
                    assertTrue(p.getGradient().abs().sum().getFloat() > 0, "gradient reaches " + k);
                }
            });
            weights.forEach((k, w) -> assertFalse(w.hasGradient(), "the frozen base weight " + k + " has no gradient"));
            Random r = new Random(9);
            params.forEach((k, p) -> {
                if (k.contains(".lora_B.")) {
                    float[] v = new float[Math.toIntExact(p.size())];
                    for (int i = 0; i < v.length; i++) {
                        v[i] = (float) (r.nextGaussian() * 0.1);
                    }
                    p.set(v);
                }
            });
            adapted = logits(d);
            d.saveAdapter(adapterDir, null);
        }
        assertNotEquals(base[0], adapted[0]);
        try (LlamaDecoder merged = LlamaDecoder.load(model, CPU.withAdapter(adapterDir));
                LlamaDecoder unmerged = LlamaDecoder.load(model, CPU.withAdapter(adapterDir)
                        .withUnmergedAdapter(true))) {
            float[] fromFile = logits(unmerged);
            float[] fromMerged = logits(merged);
            for (int i = 0; i < adapted.length; i++) {
                assertEquals(adapted[i], fromFile[i], 1e-5, "adapters from the file = from memory, logit " + i);
                assertEquals(fromFile[i], fromMerged[i], 1e-5, "merged = unmerged, logit " + i);
            }
            assertArrayEquals(greedy(unmerged), greedy(merged), "serving: merged (packed, fused) = unmerged tokens");
        }
    }
}
