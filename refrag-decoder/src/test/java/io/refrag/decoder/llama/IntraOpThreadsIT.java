package io.refrag.decoder.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;
import io.refrag.core.model.ModelOptions;
import io.refrag.core.model.Precision;
import io.refrag.core.tensor.Devices;
import io.refrag.core.testing.SharedModels;
import io.refrag.core.tensor.Device;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

/**
 * The library owns the thread choice: a decoder's load sets PyTorch's intra-op threads, one for a small decoder
 * (stories260K) and the cores for a large one, unless the options (or DJL's property) say otherwise.
 */
class IntraOpThreadsIT {
    @TempDir
    Path tmp;

    @Test
    void aDecoderLoadSetsTheThreadsItsSizeCallsForUnlessItsOptionsSayOtherwise() {
        String property = System.getProperty(Devices.NUM_THREADS);
        Engine.getEngine("PyTorch"); // loads the native library
        int before = JniUtils.getNumThreads();
        int cores = Runtime.getRuntime().availableProcessors();
        try {
            System.clearProperty(Devices.NUM_THREADS);
            try (LlamaDecoder small = LlamaDecoder.load(SharedModels.stories(),
                    new ModelOptions(Device.CPU, Precision.FP32))) {
                assertEquals(1, JniUtils.getNumThreads(), "stories260K (hidden 64) gets one thread by default");
            }
            Path large = RandomLlamaCheckpoint.builder().shape(64, 320, 64, 1, 4, 2).write(tmp.resolve("large"));
            try (LlamaDecoder wide = LlamaDecoder.load(large, new ModelOptions(Device.CPU, Precision.FP32))) {
                assertEquals(cores, JniUtils.getNumThreads(), "a decoder wider than 256 gets the cores");
            }
            try (LlamaDecoder asked = LlamaDecoder.load(SharedModels.stories(),
                    new ModelOptions(Device.CPU, Precision.FP32).withThreads(cores))) {
                assertEquals(cores, JniUtils.getNumThreads(), "ModelOptions.threads wins");
            }
            System.setProperty(Devices.NUM_THREADS, Integer.toString(cores));
            try (LlamaDecoder byProperty = LlamaDecoder.load(SharedModels.stories(),
                    new ModelOptions(Device.CPU, Precision.FP32))) {
                assertEquals(cores, JniUtils.getNumThreads(), "so does DJL's property, as the user's choice");
            }
        } finally {
            if (property == null) {
                System.clearProperty(Devices.NUM_THREADS);
            } else {
                System.setProperty(Devices.NUM_THREADS, property);
            }
            JniUtils.setNumThreads(before);
        }
    }
}
