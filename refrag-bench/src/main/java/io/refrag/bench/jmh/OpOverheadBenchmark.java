package io.refrag.bench.jmh;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * The fixed cost of one DJL/PyTorch operation through JNI (an add on a 64-element array, result closed with its
 * step manager): the floor under every decode step of a small model.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
public class OpOverheadBenchmark extends BenchmarkBase {
    private NDManager manager;
    private NDArray a;
    private NDArray b;

    @Setup(Level.Trial)
    public void setUp() {
        manager = NDManager.newBaseManager();
        a = manager.ones(new Shape(1, 64));
        b = manager.ones(new Shape(1, 64));
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        manager.close();
    }

    /** @return a closed result's element count (keeps the call alive) */
    @Benchmark
    public long addOneOp() {
        try (NDManager step = manager.newSubManager()) {
            NDArray x = a.duplicate();
            x.attach(step);
            return x.add(b).size();
        }
    }
}
