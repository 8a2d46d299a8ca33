package io.refrag.core.generate;

import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.exception.QueueFullException;
import io.refrag.core.exception.RefragException;
import io.refrag.core.exception.RequestTimeoutException;
import io.refrag.core.model.CausalDecoder;
import io.refrag.core.model.DecoderInput;
import io.refrag.core.model.DecoderSession;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * Continuous batching: concurrent requests share each decode step. One loop thread does all the native work: it
 * prefills the requests that join between two steps (together, in one forward pass per group of short prompts:
 * {@link CausalDecoder#prefillBatch}), then runs {@link CausalDecoder#decodeBatch} over every active
 * request, so the weights are read once per step for all of them (decode is bound by memory bandwidth), and no two
 * threads compete for the cores PyTorch's intra-op pool already uses. Each
 * request keeps its own KV cache and position, sampler, stop conditions and streaming listener, and leaves the batch
 * when it finishes or is cancelled; the others go on. Listeners run on the loop thread: a slow one slows every stream.
 * Greedy outputs equal {@link Generator}'s for the same request.
 *
 * <p>Under overload no request waits forever and none is lost without an error: at most {@code maxQueue} requests
 * wait for a batch slot (beyond that {@link #submit} refuses with a {@link QueueFullException}), and a request that
 * runs or waits past its timeout ends with a {@link RequestTimeoutException}. A cancelled or timed-out request leaves
 * within one step, its KV cache freed, whether it was waiting or running.
 */
public final class BatchedGenerator implements AutoCloseable {
    private static final long IDLE_POLL_MILLIS = 50;
    /** The default bound on requests waiting for a batch slot. */
    public static final int DEFAULT_MAX_QUEUE = 256;
    /** Most prompt positions prefilled in one forward pass when several requests join at once. */
    static final int PREFILL_POSITIONS = 1024;

    private final CausalDecoder decoder;
    private final int maxBatch;
    private final int maxQueue;
    private final Duration timeout; // zero: none
    private final BlockingQueue<Stream> joining;
    private final Thread loop;
    private volatile boolean closed;
    private volatile int activeCount; // requests in the decode batch, as the loop last saw them
    private final LongAdder steps = new LongAdder();
    private final LongAdder rows = new LongAdder();

    /** A request in the batch: wait for its result, or cancel it. */
    public static final class Stream {
        private final Supplier<DecoderInput> prompt; // run on the loop thread, unless the decoding exists already
        private final GenerationOptions options;
        private final long startNanos;
        private final long deadlineNanos;
        private final CompletableFuture<GenerationResult> result = new CompletableFuture<>();
        private Decoding decoding; // the loop's once prepared
        private volatile boolean cancelled;

        private Stream(Supplier<DecoderInput> prompt, GenerationOptions options, long startNanos, long deadlineNanos) {
            this.prompt = prompt;
            this.options = options;
            this.startNanos = startNanos;
            this.deadlineNanos = deadlineNanos;
        }

        /** @return completes with the generation, or exceptionally (a {@link CancellationException} once cancelled) */
        public CompletableFuture<GenerationResult> result() {
            return result;
        }

        /**
         * Ends this request at the next step and frees its KV cache (or before it is prepared, if it still waits); the
         * other requests are not affected. Its result then completes with a {@link CancellationException}.
         */
        public void cancel() {
            cancelled = true;
        }

        /** Prepares the prompt and opens the KV cache, on the loop thread. */
        private Decoding decoding(CausalDecoder decoder) {
            if (decoding == null) {
                decoding = new Decoding(decoder, prompt.get(), options, startNanos);
            }
            return decoding;
        }

        private int generatedCount() {
            return decoding == null ? 0 : decoding.generatedCount();
        }

        private void finish() {
            GenerationResult r = decoding.result(); // a failure here fails the stream, which closes the decoding
            decoding.close(); // before the caller hears of it: the caller may close the model next
            result.complete(r);
        }

        private void fail(Throwable e) {
            if (decoding != null) {
                decoding.close();
            }
            result.completeExceptionally(e);
        }
    }

    /**
     * @param decoder the model every request uses
     * @param maxBatch most requests in one decode step, at least 1
     */
    public BatchedGenerator(CausalDecoder decoder, int maxBatch) {
        this(decoder, maxBatch, DEFAULT_MAX_QUEUE, Duration.ZERO);
    }

    /**
     * @param decoder the model every request uses
     * @param maxBatch most requests in one decode step, at least 1
     * @param maxQueue most requests waiting for a batch slot, at least 1
     * @param timeout the longest a request may take from its start, waiting included; zero for none
     */
    public BatchedGenerator(CausalDecoder decoder, int maxBatch, int maxQueue, Duration timeout) {
        if (maxBatch < 1 || maxQueue < 1 || timeout.isNegative()) {
            throw new InvalidRequestException("batching needs maxBatch >= 1, maxQueue >= 1 and a timeout >= 0; got "
                    + maxBatch + ", " + maxQueue + ", " + timeout);
        }
        this.decoder = decoder;
        this.maxBatch = maxBatch;
        this.maxQueue = maxQueue;
        this.timeout = timeout;
        this.joining = new LinkedBlockingQueue<>(maxQueue);
        this.loop = new Thread(this::run, "refrag-batched-decode");
        loop.setDaemon(true);
        loop.start();
    }

    /**
     * Starts a request: checks its length on the calling thread; the loop opens its KV cache, prefills it at the next
     * step and runs it in the batch.
     *
     * @param prompt the decoder input
     * @param options sampling, stopping and streaming options
     * @param requestStartNanos {@link System#nanoTime()} at request start (TTFT counts from it)
     * @return the running request
     * @throws io.refrag.core.exception.ContextTooLongException if the prompt alone exceeds the context length
     * @throws QueueFullException if {@code maxQueue} requests already wait for a batch slot
     */
    public Stream submit(DecoderInput prompt, GenerationOptions options, long requestStartNanos) {
        decoder.info().requireFits(prompt.length(), "decoder input", "");
        return submit(() -> prompt, options, requestStartNanos);
    }

    /**
     * Starts a request whose prompt is prepared on the loop thread, like all native work: this returns at once. A
     * preparation that fails (a prompt too long, a model error) completes the result exceptionally.
     *
     * @param prompt prepares the decoder input (tokenization, encoding: whatever the request needs)
     * @param options sampling, stopping and streaming options
     * @param requestStartNanos {@link System#nanoTime()} at request start (TTFT counts from it)
     * @return the request, queued
     * @throws QueueFullException if {@code maxQueue} requests already wait for a batch slot
     */
    public Stream submit(Supplier<DecoderInput> prompt, GenerationOptions options, long requestStartNanos) {
        if (closed) {
            throw new RefragException("the batched generator is closed");
        }
        long deadline = timeout.isZero() ? Long.MAX_VALUE : requestStartNanos + timeout.toNanos();
        Stream stream = new Stream(prompt, options, requestStartNanos, deadline);
        if (!joining.offer(stream)) {
            throw queueFull(); // nothing is allocated before a request is admitted
        }
        if (closed && joining.remove(stream)) { // closed meanwhile: the loop may not see it
            stream.fail(new RefragException("the batched generator is closed"));
        }
        return stream;
    }

    /**
     * Runs a request to the end, sharing decode steps with the other requests in flight.
     *
     * @param prompt the decoder input
     * @param options sampling, stopping and streaming options
     * @param requestStartNanos {@link System#nanoTime()} at request start
     * @return the generation
     */
    public GenerationResult generate(DecoderInput prompt, GenerationOptions options, long requestStartNanos) {
        try {
            return submit(prompt, options, requestStartNanos).result().join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw e;
        }
    }

    private QueueFullException queueFull() {
        return new QueueFullException("queue full: " + maxQueue + " requests are already waiting for one of the "
                + maxBatch + " batch slots; retry later (RefragBuilder.optMaxQueue sets the bound)");
    }

    /** Ends waiting and running requests that were cancelled or ran out of time; returns whether it ended {@code s}. */
    private boolean endedEarly(Stream s, long now) {
        if (s.cancelled) {
            s.fail(new CancellationException("request cancelled"));
            return true;
        }
        if (now > s.deadlineNanos) {
            s.fail(new RequestTimeoutException("request timed out after " + timeout.toMillis() + " ms ("
                    + s.generatedCount() + " tokens generated); its KV cache was freed"));
            return true;
        }
        return false;
    }

    /** @return requests waiting for a batch slot, requests in the batch, and decode steps and rows run so far */
    public SchedulerStats stats() {
        return new SchedulerStats(joining.size(), activeCount, steps.sum(), rows.sum());
    }

    private void run() {
        List<Stream> active = new ArrayList<>();
        while (!closed || !active.isEmpty() || !joining.isEmpty()) {
            List<Stream> fresh = new ArrayList<>();
            if (active.isEmpty()) {
                try {
                    Stream first = joining.poll(IDLE_POLL_MILLIS, TimeUnit.MILLISECONDS);
                    if (first == null || endedEarly(first, System.nanoTime())) {
                        continue;
                    }
                    fresh.add(first); // those that came with it join it below
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            long now = System.nanoTime();
            joining.removeIf(s -> endedEarly(s, now));
            joining.drainTo(fresh, maxBatch - active.size() - fresh.size());
            prefillTogether(fresh, active);
            active.removeIf(s -> endedEarly(s, now));
            if (!active.isEmpty()) {
                activeCount = active.size();
                steps.increment();
                rows.add(active.size());
                step(active);
            }
            activeCount = active.size();
        }
        activeCount = 0;
        active.forEach(s -> s.fail(new RefragException("the batched generator is closed")));
    }

    /** Prepares and prefills a joining request and samples its first token; unless that ends it, it joins the batch. */
    private void prefill(Stream s, List<Stream> active) {
        try {
            Decoding d = s.decoding(decoder);
            accepted(s, d.prefill(), active);
        } catch (RuntimeException e) {
            s.fail(e);
        }
    }

    /**
     * Prepares the joining requests, then prefills them in groups of at most {@value #PREFILL_POSITIONS} positions
     * (a longer prompt alone), one forward pass per group. If a group's pass fails, its requests are prefilled one by
     * one, so that only the request at fault fails.
     */
    private void prefillTogether(List<Stream> fresh, List<Stream> active) {
        List<Stream> group = new ArrayList<>();
        int positions = 0;
        for (Stream s : fresh) {
            Decoding d;
            try {
                d = s.decoding(decoder);
            } catch (RuntimeException e) {
                s.fail(e);
                continue;
            }
            if (!group.isEmpty() && positions + d.prompt().length() > PREFILL_POSITIONS) {
                prefillGroup(group, active);
                group.clear();
                positions = 0;
            }
            group.add(s);
            positions += d.prompt().length();
        }
        if (!group.isEmpty()) {
            prefillGroup(group, active);
        }
    }

    private void prefillGroup(List<Stream> group, List<Stream> active) {
        if (group.size() == 1) {
            prefill(group.get(0), active);
            return;
        }
        List<DecoderSession> sessions = new ArrayList<>(group.size());
        List<DecoderInput> prompts = new ArrayList<>(group.size());
        for (Stream s : group) {
            sessions.add(s.decoding.session());
            prompts.add(s.decoding.prompt());
        }
        float[][] logits;
        long start = System.nanoTime();
        try {
            logits = decoder.prefillBatch(sessions, prompts);
        } catch (RuntimeException e) {
            group.forEach(s -> prefill(s, active)); // the sessions' positions did not move: each starts afresh
            return;
        }
        long end = System.nanoTime();
        for (int i = 0; i < logits.length; i++) {
            Stream s = group.get(i);
            try {
                s.decoding.prefilled(start, end);
                accepted(s, logits[i], active);
            } catch (RuntimeException e) {
                s.fail(e);
            }
        }
    }

    /** Samples a prefilled request's first token; unless that ends it, it joins the batch. */
    private static void accepted(Stream s, float[] logits, List<Stream> active) {
        if (s.decoding.accept(logits)) {
            s.finish();
        } else {
            active.add(s);
        }
    }

    /** One decode step over the active requests; finished or failed ones leave. */
    private void step(List<Stream> active) {
        List<DecoderSession> sessions = new ArrayList<>(active.size());
        int[] tokens = new int[active.size()];
        for (int i = 0; i < tokens.length; i++) {
            sessions.add(active.get(i).decoding.session());
            tokens[i] = active.get(i).decoding.lastToken();
        }
        float[][] logits;
        try {
            logits = decoder.decodeBatch(sessions, tokens);
        } catch (RuntimeException | Error e) {
            active.forEach(s -> s.fail(e));
            active.clear();
            return;
        }
        Iterator<Stream> it = active.iterator();
        for (int i = 0; it.hasNext(); i++) {
            Stream s = it.next();
            try {
                if (s.decoding.accept(logits[i])) {
                    s.finish();
                    it.remove();
                }
            } catch (RuntimeException e) {
                s.fail(e);
                it.remove();
            }
        }
    }

    /** Finishes the requests in flight, refuses new ones and stops the loop thread. */
    @Override
    public void close() {
        closed = true;
        try {
            loop.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
