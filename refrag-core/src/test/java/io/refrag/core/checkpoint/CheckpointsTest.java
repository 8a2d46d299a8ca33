package io.refrag.core.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.refrag.core.tensor.Device;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Loading runs on a thread of its own, and the caller goes on only once that thread, and the OpenMP workers it started
 * (which Linux names after it), have ended natively too.
 */
class CheckpointsTest {
    @TempDir
    Path tmp;

    /** @return kernel names ({@code comm}) of this process's live threads */
    private static List<String> threadNames() throws IOException {
        List<String> names = new ArrayList<>();
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path t : tasks.toList()) {
                try {
                    names.add(Files.readString(t.resolve("comm")).strip());
                } catch (IOException ended) {
                    // the thread ended while listing
                }
            }
        }
        return names;
    }

    @Test
    void theLoadingThreadHasFullyEndedWhenLoadReturns() throws IOException {
        float[] w = new float[256 * 256];
        for (int i = 0; i < w.length; i++) {
            w[i] = (i % 17) / 17f;
        }
        new SafetensorsWriter().add("w", w, 256, 256).write(tmp.resolve(SafetensorsCheckpoint.SINGLE_FILE));
        int loads = 30;
        int lingering = 0;
        for (int i = 0; i < loads; i++) {
            try (NDManager model = Checkpoints.load(tmp, Device.CPU, DataType.FLOAT32, false, () -> { },
                    (weights, manager) -> {
                        NDArray x = weights.load("w", 256, 256);
                        x.matMul(x).exp().sum().getFloat(); // parallel native work: the thread gets an OpenMP team
                        return manager;
                    })) {
                if (threadNames().stream().anyMatch(n -> n.startsWith("refrag-load"))) {
                    lingering++;
                }
            }
        }
        System.out.printf("CheckpointsTest: %d of %d loads returned while their thread was still ending%n", lingering,
                loads);
        assertEquals(0, lingering, "Thread.join() alone returns while the native thread still runs its destructors");
        assertTrue(Files.isDirectory(Path.of("/proc/self/task")), "this test runs on Linux, where threads are listed");
    }
}
