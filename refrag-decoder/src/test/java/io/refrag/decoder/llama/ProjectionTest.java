package io.refrag.decoder.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Every form of {@link Projection} (packed, one row in blocks, a few rows, many rows) equals {@code linear}. */
class ProjectionTest {
    @Test
    void everyRowCountAndBlockCountGivesLinearsResult() {
        try (NDManager weights = NDManager.newBaseManager(); NDManager request = weights.newSubManager()) {
            NDArray w = weights.randomNormal(new Shape(96, 40)); // [out, in]
            NDArray b = weights.randomNormal(new Shape(96));
            for (int blocks : new int[] {0, 1, 2, 3, 4, 5, 7}) { // 5 and 7 do not divide 96: plain linear
                // 0: packed for oneDNN
                Projection p = new Projection(w, b, new Projection.Plan(Math.max(1, blocks), blocks == 0));
                for (int rows : new int[] {1, 2, 9, 16, 17, 40}) {
                    NDArray x = request.randomNormal(new Shape(rows, 40));
                    NDArray y = p.apply(x);
                    assertEquals(new Shape(rows, 96), y.getShape(), blocks + " blocks, " + rows + " rows");
                    assertEquals(request, y.getManager(), "the product belongs to the request, not the weights");
                    assertArrayEquals(Linear.linear(x, w, b).singletonOrThrow().toFloatArray(), y.toFloatArray(),
                            1e-4f, blocks + " blocks, " + rows + " rows");
                }
            }
        }
    }
}
