package io.refrag.encoder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.refrag.core.checkpoint.SafetensorsWriter;
import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.exception.ModelLoadException;
import io.refrag.core.model.ModelOptions;
import io.refrag.core.model.Precision;
import io.refrag.core.tensor.Device;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

class MlpProjectorTest {
    private static final ModelOptions CPU = new ModelOptions(Device.CPU, Precision.FP32);
    private static final MlpProjector.ProjectorActivation GELU = MlpProjector.ProjectorActivation.GELU;

    @TempDir
    Path tmp;

    @Test
    void twoLayerProjectionMatchesAHandComputation() {
        try (MlpProjector p = MlpProjector.create(3, 2, true, GELU, 7, CPU)) {
            float[] x = {0.5f, -1f, 2f};
            float[] got = p.project(new float[][] {x})[0];
            float[] w1 = p.parameters().get("fc1.weight").toFloatArray();
            float[] b1 = p.parameters().get("fc1.bias").toFloatArray();
            float[] w2 = p.parameters().get("fc2.weight").toFloatArray();
            float[] b2 = p.parameters().get("fc2.bias").toFloatArray();
            double[] h = new double[2];
            for (int o = 0; o < 2; o++) {
                h[o] = b1[o];
                for (int i = 0; i < 3; i++) {
                    h[o] += w1[o * 3 + i] * x[i];
                }
                h[o] = 0.5 * h[o] * (1 + NaiveBert.erf(h[o] / Math.sqrt(2)));
            }
            for (int o = 0; o < 2; o++) {
                double y = b2[o] + w2[o * 2] * h[0] + w2[o * 2 + 1] * h[1];
                assertEquals(y, got[o], 1e-5);
            }
        }
    }

    @Test
    void seededInitIsDeterministicAndSaveLoadRoundTrips() {
        Path file = tmp.resolve("projector.safetensors");
        float[][] in = {{1f, 2f, 3f, 4f}, {-1f, 0f, 0.5f, 2f}};
        try (MlpProjector a = MlpProjector.create(4, 6, true, MlpProjector.ProjectorActivation.SILU, 11, CPU);
                MlpProjector b = MlpProjector.create(4, 6, true, MlpProjector.ProjectorActivation.SILU, 11, CPU);
                MlpProjector c = MlpProjector.create(4, 6, true, MlpProjector.ProjectorActivation.SILU, 12, CPU)) {
            assertEquals(a.id(), b.id());
            assertNotEquals(a.id(), c.id());
            a.save(file);
            try (MlpProjector loaded = MlpProjector.load(file, 4, 6, CPU)) {
                assertEquals(a.id(), loaded.id());
                float[][] expected = a.project(in);
                float[][] actual = loaded.project(in);
                for (int i = 0; i < in.length; i++) {
                    assertArrayEquals(expected[i], actual[i], 0f);
                }
            }
        }
        try (MlpProjector single = MlpProjector.create(4, 6, false, GELU, 1, CPU)) {
            single.save(file);
            try (MlpProjector loaded = MlpProjector.load(file, 4, 6, CPU)) {
                assertTrue(!loaded.isTwoLayer());
                assertArrayEquals(single.project(in)[1], loaded.project(in)[1], 0f);
            }
        }
    }

    @Test
    void badInputsAndFilesAreRejected() {
        try (MlpProjector p = MlpProjector.create(4, 6, true, GELU, 1, CPU)) {
            var e = assertThrows(InvalidRequestException.class, () -> p.project(new float[][] {new float[5]}));
            assertTrue(e.getMessage().contains("encoder hidden size 4"), e.getMessage());
        }
        Path bad = tmp.resolve("bad.safetensors");
        new SafetensorsWriter().add("fc1.weight", new float[6], 2, 3).add("fc1.bias", new float[2], 2)
                .add("fc2.weight", new float[6], 3, 2).add("fc2.bias", new float[2], 2).write(bad);
        var e = assertThrows(ModelLoadException.class, () -> MlpProjector.load(bad, 3, 2, CPU));
        assertTrue(e.getMessage().contains("fc2.weight"), e.getMessage());
        assertThrows(ModelLoadException.class, () -> MlpProjector.load(tmp.resolve("missing.safetensors"), 4, 6, CPU));
        assertThrows(InvalidRequestException.class, () -> MlpProjector.ProjectorActivation.parse("swish"));
    }

    @Test
    void aHeaderClaimingHugeTensorsIsRejectedByShapeBeforeAnyDataIsRead() throws Exception {
        long n = 20_000; // fc1.weight [n, n] F32: 1.6 GB claimed by a sparse file
        long bytes = n * n * 4;
        String header = "{\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[" + n + "," + n + "],\"data_offsets\":[0,"
                + bytes + "]},\"fc.bias\":{\"dtype\":\"F32\",\"shape\":[" + n + "],\"data_offsets\":[" + bytes
                + "," + (bytes + 4 * n) + "]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        Path sparse = tmp.resolve("sparse.safetensors");
        try (RandomAccessFile f = new RandomAccessFile(sparse.toFile(), "rw")) {
            f.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).array());
            f.write(h);
            f.setLength(8 + h.length + bytes + 4 * n);
        }
        var e = assertThrows(ModelLoadException.class, () -> MlpProjector.load(sparse, 4, 6, CPU));
        assertTrue(e.getMessage().contains("fc.weight' has shape [20000, 20000], expected [6, 4]"), e.getMessage());
    }

    @Test
    void gradientsReachTheProjectorWeights() {
        try (MlpProjector p = MlpProjector.create(4, 3, true, GELU, 5, CPU); NDManager m = NDManager.newBaseManager()) {
            p.parameters().values().forEach(w -> w.setRequiresGradient(true));
            NDArray x = m.create(new float[] {1, 2, 3, 4, -1, 0, 1, 0}, new Shape(2, 4));
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                gc.backward(p.forward(x).square().sum());
            }
            for (NDArray w : p.parameters().values()) {
                assertTrue(w.getGradient().abs().sum().getFloat() > 0, "no gradient for a projector weight");
            }
        }
    }
}
