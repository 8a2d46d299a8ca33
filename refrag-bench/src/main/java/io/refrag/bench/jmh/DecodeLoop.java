package io.refrag.bench.jmh;

import io.refrag.core.model.CausalDecoder;
import io.refrag.core.model.DecoderInput;
import io.refrag.core.model.DecoderSession;

/**
 * What the single-stream benchmarks time: a prompt's prefill in a fresh session, and decode steps in a session that
 * already holds the prompt (renewed when its cache is full). Not thread-safe: one per benchmark state.
 */
final class DecodeLoop implements AutoCloseable {
    private final CausalDecoder decoder;
    private final int[] prompt;
    private final int room;
    private DecoderSession session;
    private int step;

    /**
     * @param decoder the decoder
     * @param prompt the prompt
     * @param room decode steps a session takes before it is renewed
     */
    DecodeLoop(CausalDecoder decoder, int[] prompt, int room) {
        this.decoder = decoder;
        this.prompt = prompt;
        this.room = room;
        renew();
    }

    /** @return logits of the last prompt position, from a fresh session (TTFT) */
    float[] prefill() {
        try (DecoderSession s = decoder.newSession(prompt.length)) {
            return s.prefill(DecoderInput.ofTokens(prompt));
        }
    }

    /** @return logits after one more token in the prompt's session (TTIT); the cache grows by one position */
    float[] decode() {
        if (session.position() == session.capacity()) {
            renew();
        }
        return session.decode(3 + (step++ % 200));
    }

    private void renew() {
        close();
        session = decoder.newSession(Math.min(decoder.info().maxPositions(), prompt.length + room));
        session.prefill(DecoderInput.ofTokens(prompt));
    }

    @Override
    public void close() {
        if (session != null) {
            session.close();
            session = null;
        }
    }
}
