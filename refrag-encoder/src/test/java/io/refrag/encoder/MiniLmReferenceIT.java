package io.refrag.encoder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.refrag.core.model.ModelOptions;
import io.refrag.core.model.Pooling;
import io.refrag.core.testing.Json;
import io.refrag.core.testing.SharedModels;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

/** all-MiniLM-L6-v2 against the ONNX Runtime outputs in {@code reference/onnxruntime_outputs.json}. */
class MiniLmReferenceIT {

    private static List<JsonObject> examples() {
        List<JsonObject> out = new ArrayList<>();
        for (JsonElement e : Json.read(SharedModels.miniLm().resolve("reference/onnxruntime_outputs.json"))
                .getAsJsonObject().getAsJsonArray("examples")) {
            out.add(e.getAsJsonObject());
        }
        return out;
    }

    private static List<String> texts(List<JsonObject> examples) {
        return examples.stream().map(e -> e.get("text").getAsString()).toList();
    }

    @Test
    void tokenizerProducesTheReferenceIds() {
        try (BertChunkEncoder enc = BertChunkEncoder.load(SharedModels.miniLm(), ModelOptions.defaults(), Pooling.CLS)) {
            for (JsonObject e : examples()) {
                assertArrayEquals(Json.ints(e.get("input_ids")), enc.tokenizer().encode(e.get("text").getAsString()).ids());
            }
        }
    }

    @Test
    void clsMeanAndPoolerOutputsMatchOnnxRuntimeInOnePaddedBatch() {
        List<JsonObject> examples = examples();
        for (Pooling pooling : Pooling.values()) {
            try (BertChunkEncoder enc = BertChunkEncoder.load(SharedModels.miniLm(), ModelOptions.defaults(), pooling)) {
                float[][] got = enc.encode(texts(examples)); // different lengths: padding + masks are exercised
                for (int i = 0; i < examples.size(); i++) {
                    float[] expected = switch (pooling) {
                        case CLS -> Json.floats(examples.get(i).get("cls_last_hidden_state"));
                        case MEAN -> Json.floats(examples.get(i).get("mean_pooled_l2_normalized"));
                        case POOLER -> Json.floats(examples.get(i).get("pooler_output"));
                    };
                    float[] actual = pooling == Pooling.MEAN ? l2normalize(got[i]) : got[i];
                    double diff = Json.maxAbsDiff(expected, actual);
                    assertTrue(diff < 1e-4, pooling + " example " + i + " differs by " + diff);
                }
            }
        }
    }

    @Test
    void theEncoderTakesItsOwnThreadCountBesideASmallDecodersOne() {
        try (BertChunkEncoder enc = BertChunkEncoder.load(SharedModels.miniLm(), ModelOptions.defaults(), Pooling.CLS)) {
            io.refrag.core.tensor.Devices.applyIntraOpThreads(1); // as a 64-wide decoder sets it on this thread
            enc.encode(java.util.List.of("a little girl named Lily"));
            assertEquals(io.refrag.core.tensor.Devices.intraOpThreads(0, 384),
                    ai.djl.pytorch.jni.JniUtils.getNumThreads(), "a 384-wide encoder runs on its own count");
        }
    }

    @Test
    void batchedEncodingEqualsOneByOne() {
        List<String> texts = texts(examples());
        try (BertChunkEncoder enc = BertChunkEncoder.load(SharedModels.miniLm(), ModelOptions.defaults(), Pooling.CLS)) {
            float[][] batch = enc.encode(texts);
            for (int i = 0; i < texts.size(); i++) {
                assertArrayEquals(enc.encode(List.of(texts.get(i)))[0], batch[i], 2e-5f);
            }
        }
    }

    private static float[] l2normalize(float[] v) {
        double n = 0;
        for (float f : v) {
            n += f * f;
        }
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = (float) (v[i] / Math.sqrt(n));
        }
        return out;
    }
}
