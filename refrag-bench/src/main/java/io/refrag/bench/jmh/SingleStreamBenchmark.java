package io.refrag.bench.jmh;

import io.refrag.decoder.llama.LlamaDecoder;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

/**
 * One request at a time on one decoder: subclasses load {@link #decoder} and set {@link #prompt} in their trial
 * set-up; each iteration gets a fresh {@link DecodeLoop} over them, and the decoder is closed after the trial.
 */
abstract class SingleStreamBenchmark extends BenchmarkBase {
    /** Decode steps a session takes before it is renewed. */
    static final int ROOM = 4096;

    LlamaDecoder decoder;
    int[] prompt;
    DecodeLoop loop;

    /** A session already holding the prompt, with room for this iteration's decode steps. */
    @Setup(Level.Iteration)
    public void prefillSession() {
        loop = new DecodeLoop(decoder, prompt, ROOM);
    }

    @TearDown(Level.Iteration)
    public void closeSession() {
        loop.close();
    }

    @TearDown(Level.Trial)
    public void closeDecoder() {
        decoder.close();
        deleteWorkDir();
    }
}
