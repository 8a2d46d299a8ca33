package io.refrag.core.testing;

import io.refrag.core.model.Projector;

/** Maps a vector to twice its first two values (output size 2); the input size is the constructor's. */
public final class FakeProjector implements Projector {
    private final int inputSize;

    /** A projector of {@link FakeEncoder}'s 2-wide vectors. */
    public FakeProjector() {
        this(2);
    }

    /** @param inputSize the input width it declares */
    public FakeProjector(int inputSize) {
        this.inputSize = inputSize;
    }

    @Override
    public String id() {
        return "fake-x2";
    }

    @Override
    public int inputSize() {
        return inputSize;
    }

    @Override
    public int outputSize() {
        return 2;
    }

    @Override
    public float[][] project(float[][] v) {
        float[][] out = new float[v.length][];
        for (int i = 0; i < v.length; i++) {
            out[i] = new float[] {v[i][0] * 2, v[i][1] * 2};
        }
        return out;
    }

    @Override
    public void close() {
    }
}
