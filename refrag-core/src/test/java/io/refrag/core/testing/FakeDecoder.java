package io.refrag.core.testing;

import io.refrag.core.model.CausalDecoder;
import io.refrag.core.model.DecoderInfo;
import io.refrag.core.model.DecoderInput;
import io.refrag.core.model.DecoderSession;
import io.refrag.core.tokenizer.TextTokenizer;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A decoder without native code, over {@link FakeTokenizer} (vocabulary 128, BOS 1, EOS 0, hidden size 2). Greedy
 * generation writes 'a', 'b', 'c', ... ; a token's NLL is its id / 10 divided by the length of the context before the
 * targets (higher ids are "harder", longer contexts help). It records every
 * prefilled input and every scored target list, so tests can check what reached it.
 */
public final class FakeDecoder implements CausalDecoder {
    /** Inputs passed to {@link DecoderSession#prefill}, in order. */
    public final List<DecoderInput> prefilled = Collections.synchronizedList(new ArrayList<>());
    /** Target lists passed to {@link #tokenNll}, in order. */
    public final List<int[]> scored = Collections.synchronizedList(new ArrayList<>());
    /** Runs inside every prefill, before it returns (tests hold a request in flight with it). */
    public volatile Runnable onPrefill = () -> { };
    /** Sizes of the groups passed to {@link #prefillBatch}, in order. */
    public final List<Integer> prefillGroups = Collections.synchronizedList(new ArrayList<>());
    /** A prompt starting with this token fails its prefill (a shared one, and its own). */
    public static final int FAILING_TOKEN = 99;
    /** Whether {@link #close()} ran. */
    public volatile boolean closed;
    /** Sessions opened and not yet closed (their KV caches). */
    public final AtomicInteger openSessions = new AtomicInteger();
    private final DecoderInfo info;
    private final TextTokenizer tokenizer = new FakeTokenizer();

    /** @param maxPositions the context length */
    public FakeDecoder(int maxPositions) {
        this.info = new DecoderInfo(2, 128, maxPositions, 1, new int[] {0});
    }

    @Override
    public String id() {
        return "fake-decoder";
    }

    @Override
    public DecoderInfo info() {
        return info;
    }

    @Override
    public TextTokenizer tokenizer() {
        return tokenizer;
    }

    @Override
    public float[][] embedTokens(int[] ids) {
        float[][] rows = new float[ids.length][];
        for (int i = 0; i < ids.length; i++) {
            rows[i] = new float[] {ids[i], 0};
        }
        return rows;
    }

    @Override
    public float[][] prefillBatch(List<DecoderSession> sessions, List<DecoderInput> inputs) {
        prefillGroups.add(inputs.size());
        inputs.forEach(FakeDecoder::failsOn); // before any session moves, as a real pass fails
        return CausalDecoder.super.prefillBatch(sessions, inputs);
    }

    private static void failsOn(DecoderInput input) {
        if (input.segments().get(0) instanceof DecoderInput.Tokens t && t.ids()[0] == FAILING_TOKEN) {
            throw new io.refrag.core.exception.InvalidRequestException("fake: token " + FAILING_TOKEN + " fails");
        }
    }

    @Override
    public DecoderSession newSession(int capacity) {
        openSessions.incrementAndGet();
        return new DecoderSession() {
            private int position;
            private int generated;

            @Override
            public float[] prefill(DecoderInput input) {
                DecoderInfo.requireFits(position + input.length(), capacity, "fake session", "");
                failsOn(input);
                prefilled.add(input);
                onPrefill.run();
                position += input.length();
                return next();
            }

            @Override
            public float[] decode(int tokenId) {
                DecoderInfo.requireFits(position + 1, capacity, "fake session", "");
                position++;
                return next();
            }

            private float[] next() {
                float[] logits = new float[info.vocabSize()];
                logits['a' + generated++ % 26] = 1;
                return logits;
            }

            @Override
            public int position() {
                return position;
            }

            @Override
            public int capacity() {
                return capacity;
            }

            @Override
            public long kvCacheBytes() {
                return 0;
            }

            @Override
            public void close() {
                openSessions.decrementAndGet();
            }
        };
    }

    @Override
    public float[] tokenNll(DecoderInput context, int[] targets) {
        info.requireFits(context.length() + targets.length - 1, "fake scored sequence", "");
        scored.add(targets.clone());
        float[] out = new float[targets.length];
        for (int i = 0; i < targets.length; i++) {
            out[i] = targets[i] / 10f / context.length();
        }
        return out;
    }

    @Override
    public void close() {
        closed = true;
    }
}
