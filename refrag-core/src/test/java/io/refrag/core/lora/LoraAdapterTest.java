package io.refrag.core.lora;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The unmerged adapters' product as training runs it: forward, whatever the JVM does meanwhile, backward. */
class LoraAdapterTest {
    private static final int ROWS = 4;
    private static final int IN = 5;
    private static final int OUT = 3;
    private static final int RANK = 2;

    /**
     * The backward pass of {@code scale * x A^T B^T} reads the scalar {@code scale}. Were that scalar a tensor over a
     * Java buffer that the forward pass already let go (as DJL's {@code mul(Number)} makes it), a garbage collection
     * between the passes would free it and the gradients would be computed from freed memory: sporadically NaN or
     * huge, and different from run to run.
     */
    @Test
    void gradientsAreRightWhenTheGarbageCollectorRunsBetweenForwardAndBackward() throws InterruptedException {
        LoraConfig config = LoraConfig.of(RANK, 8, 0, List.of("proj")); // scale = alpha / r = 4
        Random r = new Random(5);
        float[] x = new float[ROWS * IN];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        for (int round = 0; round < 3; round++) {
            try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
                LoraAdapter lora = LoraAdapter.create(config, Map.of("layer.proj", new long[] {OUT, IN}), m, round);
                NDArray a = lora.parameters().get("layer.proj.lora_A.weight"); // [RANK, IN]
                NDArray b = lora.parameters().get("layer.proj.lora_B.weight"); // [OUT, RANK]
                a.setRequiresGradient(true);
                b.setRequiresGradient(true);
                try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    NDArray loss = lora.delta("layer.proj", m.create(x, new Shape(ROWS, IN)), true).sum();
                    for (int i = 0; i < 3; i++) { // let the garbage collector free what the forward pass dropped
                        System.gc();
                        Thread.sleep(20);
                    }
                    gc.backward(loss);
                }
                // d sum(scale * x A^T B^T) / dB[o][k] = scale * sum_n (x A^T)[n][k], the same for every o
                float[] av = a.toFloatArray();
                float[] expected = new float[RANK];
                for (int n = 0; n < ROWS; n++) {
                    for (int k = 0; k < RANK; k++) {
                        for (int i = 0; i < IN; i++) {
                            expected[k] += (float) config.scale() * x[n * IN + i] * av[k * IN + i];
                        }
                    }
                }
                float[] grad = b.getGradient().toFloatArray();
                for (int o = 0; o < OUT; o++) {
                    for (int k = 0; k < RANK; k++) {
                        assertEquals(expected[k], grad[o * RANK + k], 1e-4 * (1 + Math.abs(expected[k])),
                                "round " + round + ": gradient of B[" + o + "][" + k + "]");
                    }
                }
            }
        }
    }
}
