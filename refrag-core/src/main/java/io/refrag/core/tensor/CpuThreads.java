package io.refrag.core.tensor;

import ai.djl.pytorch.jni.JniUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.management.ManagementFactory;

/**
 * The intra-op thread count a CPU model runs with. A count the user chose (model options, {@value Devices#NUM_THREADS},
 * {@code OMP_NUM_THREADS}) is kept as it is. A count the library chose ({@link Devices#intraOpThreads}) follows the
 * machine's load: while other processes keep cores busy, the model runs on the cores left to it, because an OpenMP
 * team larger than the free cores waits at every operation for a thread that the scheduler has put aside (on 2 cores
 * beside one CPU-bound process, two threads decode at half the speed of one).
 *
 * <p>The load is the whole machine's CPU use less this process's own, sampled at most every
 * {@value #SAMPLE_MILLIS} ms by the thread about to run native work ({@link #beforeWork}), which then takes the count:
 * PyTorch keeps the count per thread. A load lowers the count once two samples in a row saw it (a passing burst does
 * not), and the count comes back as soon as a sample finds the cores free.
 */
public final class CpuThreads {
    /** Shortest interval between two load samples. */
    public static final long SAMPLE_MILLIS = 500;
    /** Other processes take a core from the model once they keep at least this fraction of it busy (a rounding). */
    private static final double IGNORED_LOAD = 0.5;
    private static final Logger LOG = LoggerFactory.getLogger(CpuThreads.class);

    private final int chosen;
    private final boolean adaptive;
    private final LoadSampler sampler;
    private volatile int current;
    private long lastSampleNanos;
    private int lastTaken; // cores taken by others at the previous sample

    /** The machine's CPU use: whole-machine and this process's busy fractions since the previous sample. */
    interface LoadSampler {
        /** @return cores busy with other processes' work since the previous call, {@code >= 0} */
        double othersBusyCores();
    }

    private CpuThreads(int chosen, boolean adaptive, LoadSampler sampler) {
        this.chosen = chosen;
        this.adaptive = adaptive;
        this.sampler = sampler;
        this.current = chosen;
    }

    /**
     * @param explicit threads the model options ask for, or 0 for the library's choice
     * @param hidden the model's hidden size (a decoder's, or an encoder's for its own work)
     * @return the count {@link Devices#intraOpThreads} gives, adapting to the load when the library chose it
     */
    public static CpuThreads forModel(int explicit, int hidden) {
        int threads = Devices.intraOpThreads(explicit, hidden);
        boolean userChose = explicit > 0 || System.getProperty(Devices.NUM_THREADS) != null
                || System.getenv("OMP_NUM_THREADS") != null;
        return new CpuThreads(threads, !userChose && threads > 1, new MxBeanSampler());
    }

    /**
     * @param chosen the most threads
     * @param sampler the load source
     * @return a count that adapts to {@code sampler}'s load (for tests)
     */
    static CpuThreads adaptive(int chosen, LoadSampler sampler) {
        return new CpuThreads(chosen, true, sampler);
    }

    /** @return the count the model starts with, and the most it uses */
    public int chosen() {
        return chosen;
    }

    /** @return the count in force now */
    public int current() {
        return current;
    }

    /** @return whether the count follows the machine's load */
    public boolean adaptive() {
        return adaptive;
    }

    /**
     * Call on the thread about to run a model's native work (a prefill, a decode step, a training step): re-samples
     * the load when {@value #SAMPLE_MILLIS} ms have passed, and gives this thread the count in force.
     */
    public void beforeWork() {
        if (adaptive) {
            resample(System.nanoTime());
        }
        int n = current;
        if (JniUtils.getNumThreads() != n) {
            JniUtils.setNumThreads(n);
        }
    }

    /**
     * Re-samples the load if the last sample is older than {@value #SAMPLE_MILLIS} ms.
     *
     * @param now {@link System#nanoTime()}
     * @return the count in force
     */
    synchronized int resample(long now) {
        if (lastSampleNanos != 0 && now - lastSampleNanos < SAMPLE_MILLIS * 1_000_000) {
            return current;
        }
        boolean first = lastSampleNanos == 0;
        lastSampleNanos = now;
        double others = sampler.othersBusyCores();
        if (first) {
            return current; // the first sample only starts the interval
        }
        int taken = (int) Math.floor(others + (1 - IGNORED_LOAD));
        int next = Math.max(1, chosen - Math.min(taken, lastTaken)); // a load must last two samples to count
        lastTaken = taken;
        if (next != current) {
            LOG.info("{} PyTorch intra-op thread(s) (was {}): other processes keep {} core(s) busy", next, current,
                    String.format(java.util.Locale.ROOT, "%.1f", others));
            current = next;
        }
        return next;
    }

    /** The JVM's view of CPU use ({@code com.sun.management}), cgroup-aware in a container. */
    private static final class MxBeanSampler implements LoadSampler {
        private final com.sun.management.OperatingSystemMXBean os =
                ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean o
                        ? o : null;

        @Override
        public double othersBusyCores() {
            if (os == null) {
                return 0;
            }
            double machine = os.getCpuLoad(); // both: fractions of all cores since the previous call; < 0 unknown
            double self = os.getProcessCpuLoad();
            if (machine < 0 || self < 0) {
                return 0;
            }
            return Math.max(0, machine - self) * os.getAvailableProcessors();
        }
    }
}
