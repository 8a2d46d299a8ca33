package io.refrag.core.tensor;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;
import io.refrag.core.exception.InvalidRequestException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.management.ManagementFactory;
import java.util.Locale;

/**
 * Chooses the DJL device: CUDA if PyTorch sees a GPU, then Apple MPS, then CPU. The system property
 * {@value #PROPERTY} or an explicit option overrides the choice.
 */
public final class Devices {
    /** System property that overrides automatic selection (names as {@link Device#parse} reads them). */
    public static final String PROPERTY = "refrag.device";
    /** DJL's system property for PyTorch's intra-op (CPU) threads, read when the engine starts. */
    public static final String NUM_THREADS = "ai.djl.pytorch.num_threads";
    /**
     * Decoders up to this hidden size get one intra-op thread unless told otherwise: their steps are hundreds of tiny
     * operations, and a second OpenMP thread only adds its start-up to each (stories260K decodes about 2x faster on
     * one thread than on two on 2 cores, and trains 10x faster under a second CPU load).
     */
    public static final int SMALL_HIDDEN = 256;
    private static final Logger LOG = LoggerFactory.getLogger(Devices.class);

    private Devices() {
    }

    /**
     * @param requested the device a user named; {@link Device#AUTO} takes {@value #PROPERTY}
     *     when set, else chooses
     * @return the DJL device
     * @throws InvalidRequestException for a GPU that is not there, or a bad {@value #PROPERTY}
     */
    public static ai.djl.Device resolve(Device requested) {
        Device d = requested.kind() == Device.Kind.AUTO ? Device.parse(System.getProperty(PROPERTY, "auto")) : requested;
        int gpus = Engine.getEngine("PyTorch").getGpuCount();
        return switch (d.kind()) {
            case AUTO -> gpus > 0 ? ai.djl.Device.gpu() : isAppleSilicon() ? ai.djl.Device.of("mps", -1)
                    : ai.djl.Device.cpu();
            case CPU -> ai.djl.Device.cpu();
            case MPS -> {
                if (!isAppleSilicon()) {
                    throw new InvalidRequestException("device 'mps' needs macOS on Apple silicon; this is "
                            + System.getProperty("os.name") + "/" + System.getProperty("os.arch"));
                }
                yield ai.djl.Device.of("mps", -1);
            }
            case CUDA -> {
                if (d.index() >= gpus) {
                    throw new InvalidRequestException("device '" + d + "' requested but PyTorch sees " + gpus
                            + " GPU(s); install the CUDA native artifact (see README) or use 'cpu'");
                }
                yield ai.djl.Device.gpu(d.index());
            }
        };
    }

    /**
     * @return PyTorch's intra-op threads on the CPU: {@value #NUM_THREADS} when set, else {@code OMP_NUM_THREADS}
     *     when set, else the available processors (OpenMP's default)
     */
    public static int cpuThreads() {
        for (String value : new String[] {System.getProperty(NUM_THREADS), System.getenv("OMP_NUM_THREADS")}) {
            if (value != null) {
                try {
                    return Math.max(1, Integer.parseInt(value.trim()));
                } catch (NumberFormatException e) {
                    // not a count: PyTorch ignores it too
                }
            }
        }
        return Runtime.getRuntime().availableProcessors();
    }

    /**
     * The intra-op thread count for a model on the CPU, chosen by the library unless the user chose.
     *
     * @param explicit threads the model options ask for, or 0 for the library's choice
     * @param hidden the model's hidden size
     * @return {@code explicit} when {@code > 0}; else {@value #NUM_THREADS} or {@code OMP_NUM_THREADS} when set; else
     *     1 for a model of hidden size {@code <=} {@value #SMALL_HIDDEN}; else the available processors
     */
    public static int intraOpThreads(int explicit, int hidden) {
        if (explicit > 0) {
            return explicit;
        }
        if (System.getProperty(NUM_THREADS) != null || System.getenv("OMP_NUM_THREADS") != null) {
            return cpuThreads();
        }
        return hidden <= SMALL_HIDDEN ? 1 : Runtime.getRuntime().availableProcessors();
    }

    /**
     * Sets PyTorch's intra-op threads. PyTorch keeps one count for the process, which each thread takes when it first
     * runs a parallel operation, and the calling thread at once: call it on the thread that loads and serves.
     *
     * @param threads the count, {@code >= 1}
     */
    public static void applyIntraOpThreads(int threads) {
        if (threads < 1) {
            throw new InvalidRequestException("intra-op threads must be >= 1, got " + threads);
        }
        Engine.getEngine("PyTorch"); // started here, so that its own start-up setting comes first
        if (JniUtils.getNumThreads() != threads) {
            LOG.info("{} PyTorch intra-op thread(s) (was {}; ModelOptions.threads or -D{} overrides)", threads,
                    JniUtils.getNumThreads(), NUM_THREADS);
            JniUtils.setNumThreads(threads);
        }
    }

    /**
     * System property: {@code false} keeps a CPU serving model's weights in PyTorch's plain layout only, instead of
     * also packing them for oneDNN ({@link PackedLinear}: faster single rows, and batched decode steps that cost about
     * one row, for twice the memory of the projection weights).
     */
    public static final String PREPACK = "refrag.prepack";

    /**
     * @return whether CPU serving models pack their weights for oneDNN ({@value #PREPACK}, default true)
     * @throws InvalidRequestException if the property is neither {@code true} nor {@code false}
     */
    public static boolean prepack() {
        String value = System.getProperty(PREPACK, "true").strip();
        if (!value.equalsIgnoreCase("true") && !value.equalsIgnoreCase("false")) {
            throw new InvalidRequestException(PREPACK + " must be true or false, got '" + value + "'");
        }
        return value.equalsIgnoreCase("true");
    }

    /** The system property that caps one session's KV cache, in bytes. */
    public static final String MAX_KV_CACHE_BYTES = "refrag.maxKvCacheBytes";

    /**
     * @return the most bytes one request's KV cache may take: {@value #MAX_KV_CACHE_BYTES} when set, else half the
     *     machine's physical memory (a cache is allocated whole before the first step, so a request that could not
     *     finish is refused before it starts)
     * @throws InvalidRequestException if the property is not a whole number {@code >= 1}
     */
    public static long maxKvCacheBytes() {
        String value = System.getProperty(MAX_KV_CACHE_BYTES);
        if (value != null) {
            try {
                long bytes = Long.parseLong(value.strip());
                if (bytes >= 1) {
                    return bytes;
                }
            } catch (NumberFormatException e) {
                // reported below
            }
            throw new InvalidRequestException(MAX_KV_CACHE_BYTES + " must be a whole number of bytes >= 1, got '"
                    + value + "'");
        }
        java.lang.management.OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        long physical = os instanceof com.sun.management.OperatingSystemMXBean sun ? sun.getTotalMemorySize() : 0;
        return physical > 0 ? physical / 2 : Long.MAX_VALUE;
    }

    private static boolean isAppleSilicon() {
        return System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("mac")
                && System.getProperty("os.arch", "").equals("aarch64");
    }
}
