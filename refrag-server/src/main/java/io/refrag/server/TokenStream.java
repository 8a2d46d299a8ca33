package io.refrag.server;

import io.refrag.core.generate.TokenListener;

import java.util.concurrent.LinkedBlockingQueue;

/**
 * Hands a request's text deltas from the scheduler thread to the handler that writes them: {@link #onToken} never
 * blocks, {@link #next} waits. Empty deltas (mid multi-byte character) are skipped.
 */
final class TokenStream implements TokenListener {
    private static final String END = new String("end"); // identity marks the end; no delta is this instance

    private final LinkedBlockingQueue<String> deltas = new LinkedBlockingQueue<>();

    @Override
    public void onToken(int tokenId, String textDelta) {
        if (!textDelta.isEmpty()) {
            deltas.add(textDelta);
        }
    }

    /** Marks the end of the request, whatever its outcome. */
    void end() {
        deltas.add(END);
    }

    /**
     * @return the next delta, or null once the request ended
     */
    String next() {
        try {
            String d = deltas.take();
            if (d == END) {
                deltas.add(END); // later calls see the end too
                return null;
            }
            return d;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }
}
