package io.refrag.core.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

/** The library's own TorchScript module: oneDNN-packed weights give PyTorch's linear for any shape and row count. */
class PackedLinearTest {
    @Test
    void packedProductsEqualThePlainProductForEveryWidthAndRowCountWithAndWithoutBias() {
        try (NDManager m = NDManager.newBaseManager(ai.djl.Device.cpu())) {
            m.getEngine().setRandomSeed(3);
            StringBuilder wrong = new StringBuilder();
            // every width from 1 to 200 (stories260K has 64, 172, 344, 512; widths not a multiple of 16 once broke
            // single rows) and the row counts of decode, batched decode and prefill
            for (long out = 1; out <= 200; out += out < 20 ? 1 : 7) {
                for (long in : new long[] {40, 64}) {
                    NDArray w = m.randomNormal(new Shape(out, in));
                    NDArray b = m.randomNormal(new Shape(out));
                    PackedLinear.Packed plain = PackedLinear.get().pack(w, null, m);
                    PackedLinear.Packed biased = PackedLinear.get().pack(w, b, m);
                    for (int rows : new int[] {1, 2, 3, 5, 8, 16, 33}) {
                        NDArray x = m.randomNormal(new Shape(rows, in));
                        NDArray expected = x.matMul(w.transpose());
                        NDArray got = PackedLinear.get().apply(x, plain);
                        assertArrayEquals(new long[] {rows, out}, got.getShape().getShape());
                        assertEquals(m, got.getManager());
                        float d = expected.sub(got).abs().max().getFloat();
                        float db = expected.add(b).sub(PackedLinear.get().apply(x, biased)).abs().max().getFloat();
                        if (d > 1e-4 || db > 1e-4) {
                            wrong.append(rows).append(" rows of ").append(out).append('x').append(in).append("; ");
                        }
                    }
                }
            }
            assertEquals("", wrong.toString());
        }
    }

    @Test
    void inferenceSwitchesThisThreadsGradModeOffAndRestoresIt() throws Exception {
        assertEquals(false, PackedLinear.recordingGradients(), "the engine's own thread starts with it off");
        try (var collector = ai.djl.engine.Engine.getEngine("PyTorch").newGradientCollector()) {
            assertEquals(true, PackedLinear.recordingGradients());
            assertEquals(false, PackedLinear.inference(PackedLinear::recordingGradients));
            assertEquals(true, PackedLinear.recordingGradients(), "restored");
        }
        java.util.concurrent.atomic.AtomicReference<boolean[]> seen = new java.util.concurrent.atomic.AtomicReference<>();
        Thread t = new Thread(() -> seen.set(new boolean[] {PackedLinear.recordingGradients(),
            PackedLinear.inference(PackedLinear::recordingGradients), PackedLinear.recordingGradients()}));
        t.start();
        t.join();
        assertArrayEquals(new boolean[] {true, false, true}, seen.get(), "a new thread's grad mode is on, but not "
                + "inside inference");
    }
}
