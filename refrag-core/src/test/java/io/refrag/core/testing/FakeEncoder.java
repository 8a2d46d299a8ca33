package io.refrag.core.testing;

import io.refrag.core.model.ChunkEncoder;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/** An encoder that counts the texts it encodes; a text's vector is {@code [length, first char]} (hidden size 2). */
public final class FakeEncoder implements ChunkEncoder {
    /** Texts encoded so far. */
    public final AtomicInteger encoded = new AtomicInteger();

    @Override
    public String id() {
        return "fake-encoder";
    }

    @Override
    public int hiddenSize() {
        return 2;
    }

    @Override
    public float[][] encode(List<String> texts) {
        encoded.addAndGet(texts.size());
        return texts.stream().map(t -> new float[] {t.length(), t.charAt(0)}).toArray(float[][]::new);
    }

    @Override
    public void close() {
    }
}
