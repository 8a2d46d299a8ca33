package io.refrag.core.tensor;

import org.junit.jupiter.api.Test;

import java.util.ArrayDeque;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

class CpuThreadsTest {
    private static final long MS = 1_000_000;

    /** A load that replays the given busy-core readings, one per sample. */
    private static CpuThreads.LoadSampler replay(Double... readings) {
        ArrayDeque<Double> left = new ArrayDeque<>(List.of(readings));
        return left::removeFirst;
    }

    @Test
    void aLastingLoadLowersTheCountAndItComesBackWhenTheLoadStops() {
        CpuThreads t = CpuThreads.adaptive(4, replay(0.0, 1.0, 1.1, 2.3, 2.2, 0.1, 1.0, 0.4, 3.9, 3.9));
        assertEquals(4, t.resample(1_000 * MS)); // the first sample only starts the interval
        assertEquals(4, t.resample(1_600 * MS)); // one core busy elsewhere, once: a burst
        assertEquals(3, t.resample(2_200 * MS)); // twice: it lasts
        assertEquals(3, t.resample(2_800 * MS)); // 2.3 cores, once
        assertEquals(2, t.resample(3_400 * MS)); // two cores taken, twice
        assertEquals(4, t.resample(4_000 * MS)); // idle again: back at once
        assertEquals(4, t.resample(4_600 * MS));
        assertEquals(4, t.resample(5_200 * MS)); // less than half a core elsewhere is ignored
        assertEquals(4, t.resample(5_800 * MS));
        assertEquals(1, t.resample(6_400 * MS)); // never below one
        assertEquals(1, t.current());
        assertEquals(4, t.chosen());
    }

    @Test
    void samplesAtMostEveryInterval() {
        CpuThreads t = CpuThreads.adaptive(2, replay(0.0, 1.0, 1.0));
        t.resample(1_000 * MS);
        t.resample(1_500 * MS);
        assertEquals(2, t.resample(1_500 * MS + (CpuThreads.SAMPLE_MILLIS - 1) * MS)); // too soon: no sample taken
        assertEquals(1, t.resample(1_500 * MS + CpuThreads.SAMPLE_MILLIS * MS)); // the replay's third reading
    }

    @Test
    void aCountTheUserChoseIsKept() {
        CpuThreads explicit = CpuThreads.forModel(3, 1024);
        assertFalse(explicit.adaptive());
        assertEquals(3, explicit.chosen());
        CpuThreads small = CpuThreads.forModel(0, 64);
        assertEquals(1, small.chosen());
        assertFalse(small.adaptive()); // one thread has nothing to give up
        boolean libraryChooses = System.getenv("OMP_NUM_THREADS") == null
                && System.getProperty(Devices.NUM_THREADS) == null;
        assertEquals(libraryChooses && Runtime.getRuntime().availableProcessors() > 1,
                CpuThreads.forModel(0, 1024).adaptive());
    }
}
