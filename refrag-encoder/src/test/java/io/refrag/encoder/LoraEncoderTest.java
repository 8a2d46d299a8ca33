package io.refrag.encoder;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.refrag.core.checkpoint.SafetensorsCheckpoint;
import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.exception.ModelLoadException;
import io.refrag.core.lora.LoraAdapter;
import io.refrag.core.lora.LoraConfig;
import io.refrag.core.model.ModelOptions;
import io.refrag.core.model.Pooling;
import io.refrag.core.model.Precision;
import io.refrag.core.tensor.Device;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** LoRA on the BERT encoder: zero start, frozen base, PEFT files, merged against unmerged. */
class LoraEncoderTest {
    private static final ModelOptions CPU = new ModelOptions(Device.CPU, Precision.FP32);
    private static final List<String> TEXTS = List.of("t10 t11 t12 t13", "t20 t21", "t30 t31 t32 t33 t34 t35");
    private static final LoraConfig CONFIG = LoraConfig.of(4, 8, 0, List.of("query", "value", "intermediate.dense"));

    @TempDir
    Path tmp;

    private static void assertClose(float[][] expected, float[][] actual, double tolerance, String what) {
        for (int i = 0; i < expected.length; i++) {
            for (int d = 0; d < expected[i].length; d++) {
                assertEquals(expected[i][d], actual[i][d], tolerance, what + " [" + i + "][" + d + "]");
            }
        }
    }

    @Test
    void adaptersStartAsTheBaseTrainAloneAndMergeAsTheyRun() throws Exception {
        Path model = RandomBertCheckpoint.builder().seed(7).write(tmp.resolve("m"));
        Path adapterDir = tmp.resolve("adapter");
        float[][] base;
        float[][] adapted;
        try (BertChunkEncoder enc = BertChunkEncoder.load(model, CPU.withTrainable(), Pooling.CLS)) {
            base = enc.encode(TEXTS);
            Map<String, NDArray> weights = Map.copyOf(enc.model().weights().asMap());
            enc.addAdapter(CONFIG, 11);
            assertClose(base, enc.encode(TEXTS), 0, "B = 0: the adapted encoder is the base encoder");

            Map<String, NDArray> params = enc.parameters();
            assertEquals(2 * 3 * 2, params.size(), "2 layers x (query, value, intermediate.dense) x (A, B)");
            assertTrue(params.keySet().stream().allMatch(k -> k.contains(".lora_A.") || k.contains(".lora_B.")));
            params.values().forEach(p -> p.setRequiresGradient(true));
            try (NDManager m = NDManager.newBaseManager(ai.djl.Device.cpu());
                    GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                gc.backward(enc.encode(m, TEXTS).square().sum());
            }
            params.forEach((k, p) -> {
                assertTrue(p.hasGradient(), k);
                if (k.contains(".lora_B.")) {
                    assertTrue(p.getGradient().abs().sum().getFloat() > 0, "gradient reaches " + k);
                }
            });
            weights.forEach((k, w) -> assertFalse(w.hasGradient(), "the frozen base weight " + k + " has no gradient"));

            Random r = new Random(3);
            params.forEach((k, p) -> {
                if (k.contains(".lora_B.")) {
                    float[] v = new float[Math.toIntExact(p.size())];
                    for (int i = 0; i < v.length; i++) {
                        v[i] = (float) (r.nextGaussian() * 0.05);
                    }
                    p.set(v);
                }
            });
            adapted = enc.encode(TEXTS);
            enc.saveAdapter(adapterDir, "test/base");
        }
        assertNotEquals(base[0][0], adapted[0][0], "trained adapters change the output");

        JsonObject config = JsonParser.parseString(Files.readString(adapterDir.resolve(LoraAdapter.CONFIG_FILE)))
                .getAsJsonObject();
        assertEquals("LORA", config.get("peft_type").getAsString());
        assertEquals(4, config.get("r").getAsInt());
        assertEquals(8.0, config.get("lora_alpha").getAsDouble());
        assertEquals("test/base", config.get("base_model_name_or_path").getAsString());
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.openFile(adapterDir.resolve(LoraAdapter.WEIGHTS_FILE))) {
            assertTrue(c.names().contains("base_model.model.encoder.layer.0.attention.self.query.lora_A.weight"),
                    c.names().toString());
            assertEquals(List.of(4L, 32L), List.of(c.info("base_model.model.encoder.layer.1.intermediate.dense"
                    + ".lora_A.weight").shape()[0], c.info("base_model.model.encoder.layer.1.intermediate.dense"
                    + ".lora_A.weight").shape()[1]));
        }

        try (BertChunkEncoder unmerged = BertChunkEncoder.load(model, CPU.withAdapter(adapterDir)
                .withUnmergedAdapter(true), Pooling.CLS);
                BertChunkEncoder merged = BertChunkEncoder.load(model, CPU.withAdapter(adapterDir), Pooling.CLS);
                BertChunkEncoder plain = BertChunkEncoder.load(model, CPU, Pooling.CLS)) {
            assertClose(adapted, unmerged.encode(TEXTS), 1e-6, "adapters from the file = adapters from memory");
            assertClose(unmerged.encode(TEXTS), merged.encode(TEXTS), 1e-5, "merged = unmerged");
            assertTrue(unmerged.model().adapter() != null && merged.model().adapter() == null);
            assertNotEquals(plain.id(), merged.id(), "the adapter is part of the encoder's identity (cache keys)");
            assertEquals(unmerged.id(), merged.id());
        }
    }

    @Test
    void adaptersThatDoNotFitTheModelAreRefused() {
        Path model = RandomBertCheckpoint.builder().seed(7).write(tmp.resolve("m"));
        Path wider = RandomBertCheckpoint.builder().shape(64, 48, 2, 4, 64, 32).seed(8).write(tmp.resolve("w"));
        Path adapterDir = tmp.resolve("adapter");
        try (BertChunkEncoder enc = BertChunkEncoder.load(wider, CPU.withTrainable(), Pooling.CLS)) {
            enc.addAdapter(CONFIG, 1);
            enc.saveAdapter(adapterDir, null);
        }
        ModelLoadException e = assertThrows(ModelLoadException.class,
                () -> BertChunkEncoder.load(model, CPU.withAdapter(adapterDir), Pooling.CLS));
        assertTrue(e.getMessage().contains("LoRA adapter for encoder.layer.0.attention.self.query"), e.getMessage());
        InvalidRequestException none = assertThrows(InvalidRequestException.class, () -> {
            try (BertChunkEncoder enc = BertChunkEncoder.load(model, CPU.withTrainable(), Pooling.CLS)) {
                enc.addAdapter(LoraConfig.of(4, 8, 0, List.of("q_proj")), 1);
            }
        });
        assertTrue(none.getMessage().contains("match none of the model's linear layers"), none.getMessage());
        ModelLoadException missing = assertThrows(ModelLoadException.class,
                () -> BertChunkEncoder.load(model, CPU.withAdapter(tmp.resolve("nowhere")), Pooling.CLS));
        assertTrue(missing.getMessage().contains("not a LoRA adapter folder"), missing.getMessage());
    }
}
