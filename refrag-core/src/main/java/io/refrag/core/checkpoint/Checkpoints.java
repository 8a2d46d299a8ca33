package io.refrag.core.checkpoint;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.refrag.core.exception.Closeables;
import io.refrag.core.exception.ModelLoadException;
import io.refrag.core.tensor.Devices;

import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;

/** What loading any HF model folder shares: a weights manager on the device, the checkpoint, the cap, the clean-up. */
public final class Checkpoints {
    private Checkpoints() {
    }

    /** Builds a model from its weights; the result owns {@code manager} (and whatever else it was given). */
    @FunctionalInterface
    public interface ModelBuilder<T> {
        /**
         * @param weights reads the folder's tensors into {@code manager}, in the requested precision
         * @param manager the new weights manager on the requested device
         * @return the model
         */
        T build(WeightLoader weights, NDManager manager);
    }

    /**
     * Opens the folder's (sharded) safetensors, builds the model, then caps the weights' manager unless the model
     * trains (requests run in sub-managers: nothing may attach to the weights' manager after loading). On failure the
     * manager and {@code owned} are closed before the exception propagates.
     *
     * <p>The loading work runs on a short-lived thread of its own. Each thread that runs PyTorch CPU operations gets
     * its own OpenMP thread team, which lives as long as that thread; once there are more team threads than cores,
     * OpenMP stops spinning between parallel regions and every region waits on a futex. A model loaded on the
     * application's main thread then ran decode steps on other threads (a request pool, the batching loop) 25-40 %
     * slower (measured: 29-34 ms against 22-24 ms per step, hidden-1024 decoder, 2 cores). A loading thread that has
     * ended leaves no team behind.
     *
     * <p>The caller continues only once that thread has fully ended. {@link Thread#join} returns when the Java thread
     * is done, before its native thread runs its exit-time destructors (libgomp tearing down the thread's OpenMP
     * team, libtorch's and MKL's thread-local state); native work started meanwhile on the caller's thread raced
     * them (a SIGSEGV in the first backward pass after loading, on a loaded machine). On Linux the caller waits until
     * no thread carries the loader's unique name: neither the loader nor the OpenMP workers it started
     * ({@link NativeThreads}).
     *
     * @param folder the checkpoint folder
     * @param device where the weights go ({@link Devices#resolve})
     * @param type the weights' precision
     * @param trainable whether the model trains (its weights' manager then stays open to gradients)
     * @param owned a resource the model takes over (its tokenizer)
     * @param builder builds the model from the weights
     * @param <T> the model type
     * @return the model
     */
    public static <T> T load(Path folder, io.refrag.core.tensor.Device device, DataType type, boolean trainable, AutoCloseable owned,
            ModelBuilder<T> builder) {
        // the engine starts here, on the caller's thread, as before: DJL switches autograd off on the thread that
        // starts it (a per-thread PyTorch setting), and starting it runs no parallel operation
        Device on;
        try {
            on = Devices.resolve(device);
        } catch (RuntimeException e) {
            throw Closeables.closeAfter(e, owned);
        }
        AtomicReference<T> model = new AtomicReference<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        String name = NativeThreads.uniqueName("refrag-load");
        Thread loader = new Thread(() -> {
            try {
                model.set(loadHere(folder, on, type, trainable, owned, builder));
            } catch (Throwable e) {
                failure.set(e);
            }
        }, name);
        loader.start();
        boolean interrupted = false;
        while (true) {
            try {
                loader.join(); // the load owns native memory: it is never abandoned half-way
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        NativeThreads.awaitExit(name);
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        Throwable e = failure.get();
        if (e instanceof RuntimeException r) {
            throw r;
        }
        if (e instanceof Error err) {
            throw err;
        }
        if (e != null) {
            throw new ModelLoadException("cannot load " + folder + ": " + e, e);
        }
        return model.get();
    }

    private static <T> T loadHere(Path folder, Device device, DataType type, boolean trainable, AutoCloseable owned,
            ModelBuilder<T> builder) {
        NDManager manager = NDManager.newBaseManager(device);
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.openFolder(folder)) {
            T model = builder.build(new WeightLoader(ckpt, manager, type), manager);
            if (!trainable) {
                manager.cap();
            }
            return model;
        } catch (RuntimeException e) {
            manager.close();
            throw Closeables.closeAfter(e, owned);
        }
    }
}
