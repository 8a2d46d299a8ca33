package io.refrag.core;

import io.refrag.core.chunk.ChunkEmbedder;
import io.refrag.core.chunk.Chunker;
import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.exception.RefragException;
import io.refrag.core.model.CausalDecoder;
import io.refrag.core.model.Chunk;
import io.refrag.core.model.ChunkEncoder;
import io.refrag.core.model.DecoderInput;
import io.refrag.core.model.ExpansionPolicy;
import io.refrag.core.model.ModelOptions;
import io.refrag.core.model.PolicyInput;
import io.refrag.core.model.PolicyNames;
import io.refrag.core.plan.PromptPlan;
import io.refrag.core.spi.Providers;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The stages of a request before generation, in data-flow order: 1. plan (tokenize the text, chunk the context, after
 * BOS), 2. select (the policy's expanded set, after checking the shortest input fits), 3. embed (the compressed chunks,
 * through the cache), 4. assemble ({@link PromptPlan#toDecoderInput}). {@link Refrag} runs them for every request; the
 * evaluator runs them on plans it builds itself ({@link Refrag#pipeline()}). An internal type: its methods run under
 * the pipeline's lifecycle, so a closed {@link Refrag} refuses them too. Thread-safe.
 */
public final class RequestPipeline {
    private final CausalDecoder decoder;
    private final ChunkEncoder encoder; // null: full-context requests only
    private final ChunkEmbedder embedder; // null with the encoder
    private final Chunker chunker;
    private final String defaultPolicy;
    private final Path policyFile;
    private final ModelOptions modelOptions;
    private final Map<String, ExpansionPolicy> policies = new ConcurrentHashMap<>();
    private final Lifecycle lifecycle;

    RequestPipeline(CausalDecoder decoder, ChunkEncoder encoder, ChunkEmbedder embedder, String defaultPolicy,
            Path policyFile, ModelOptions modelOptions, ExpansionPolicy policy, Lifecycle lifecycle) {
        this.decoder = decoder;
        this.encoder = encoder;
        this.embedder = embedder;
        this.chunker = new Chunker(decoder.tokenizer());
        this.defaultPolicy = defaultPolicy;
        this.policyFile = policyFile;
        this.modelOptions = modelOptions;
        this.lifecycle = lifecycle;
        if (policy != null) {
            policies.put(policy.name(), policy);
        }
    }

    /**
     * A prompt as the decoder receives it under some options.
     *
     * @param plan the plan with the policy's expanded set
     * @param input the assembled decoder input
     * @param encodeMillis time to embed the chunks and assemble the input (tokenization and the policy excluded; about
     *     zero in full-context mode)
     * @param policyMillis time the policy took
     * @param cacheHits chunk embeddings served by the cache
     */
    public record Prepared(PromptPlan plan, DecoderInput input, double encodeMillis, double policyMillis,
            int cacheHits) {
        /** @return the policy's decision for every chunk, in document order */
        public List<RefragResult.ChunkDecision> decisions() {
            List<RefragResult.ChunkDecision> out = new ArrayList<>();
            for (int i = 0; i < plan.chunks().size(); i++) {
                Chunk c = plan.chunks().get(i);
                out.add(new RefragResult.ChunkDecision(c.passage(), c.index(), c.length(), plan.isExpanded(i)));
            }
            return List.copyOf(out);
        }
    }

    /**
     * 1. Tokenize a request's text segments and chunk its context segments, in document order, after BOS.
     *
     * @param request the segments
     * @param k decoder tokens per chunk
     * @return the plan, every chunk compressed
     */
    public PromptPlan plan(RefragRequest request, int k) {
        return lifecycle.inFlight(() -> planHere(request, k));
    }

    PromptPlan planHere(RefragRequest request, int k) {
        PromptPlan.Builder plan = PromptPlan.builder(decoder.info());
        for (RefragRequest.Segment s : request.segments()) {
            if (s instanceof RefragRequest.Text t) {
                plan.tokens(decoder.tokenizer().encode(t.text()).ids());
            } else if (s instanceof RefragRequest.Context c) {
                plan.chunks(chunker.chunk(c.passages(), k));
            }
        }
        return plan.build();
    }

    /**
     * 2-4. Select the chunks to expand, embed the compressed ones, assemble the decoder input.
     *
     * @param plan the prompt's layout, none expanded (see {@link PromptPlan#builder})
     * @param query text a query-aware policy compares chunks with (may be empty)
     * @param options per-request options (k is the plan's business)
     * @return the decoder input and what it cost
     */
    public Prepared prepare(PromptPlan plan, String query, RefragOptions options) {
        return lifecycle.inFlight(() -> prepareHere(plan, query, options));
    }

    Prepared prepareHere(PromptPlan plan, String query, RefragOptions options) {
        long start = System.nanoTime();
        Selection selection = select(plan, query, options);
        ChunkEmbedder.Embedded embedded = embed(selection, options);
        DecoderInput input = selection.plan().toDecoderInput(embedded.rows());
        decoder.info().requireFits(input.length(), describe(options), lengthHint(options));
        long encodeNanos = System.nanoTime() - start - selection.policyNanos();
        return new Prepared(selection.plan(), input, encodeNanos / 1e6, selection.policyNanos() / 1e6,
                embedded.cacheHits());
    }

    /**
     * Chunks passages as requests will, for precomputing their embeddings.
     *
     * @param passages the passages
     * @param k decoder tokens per chunk, checked against the encoder's input
     * @return the chunks' texts
     */
    List<String> chunkTexts(List<String> passages, int k) {
        requireEncoder();
        requireChunkSize(k, encoder);
        return chunker.chunk(passages, k).stream().map(Chunk::text).toList();
    }

    /**
     * The plan with its expanded set, the chunk embeddings computed on the way (by chunk index; null where not yet
     * computed) and what that cost.
     */
    private record Selection(PromptPlan plan, float[][] embeddings, int cacheHits, long policyNanos) {
    }

    /**
     * A chunk of k decoder tokens must fit the encoder's input, or its embedding would silently drop the rest.
     *
     * @param k decoder tokens per chunk
     * @param encoder the chunk encoder
     * @throws InvalidRequestException if a chunk of k tokens would be truncated by the encoder
     */
    static void requireChunkSize(int k, ChunkEncoder encoder) {
        if (k > encoder.maxTokens()) {
            throw new InvalidRequestException("k = " + k + " decoder tokens per chunk exceeds the encoder's maximum "
                    + "input of " + encoder.maxTokens() + " tokens: its chunks would be truncated; use a smaller k");
        }
    }

    /** 2. Let the policy pick the chunks to expand; check the shortest possible input fits before native work. */
    private Selection select(PromptPlan plan, String query, RefragOptions options) {
        int n = plan.chunks().size();
        if (options.fullContext() || n == 0) {
            decoder.info().requireFits(plan.fullContextLength(), describe(options), lengthHint(options));
            return new Selection(plan.withAllExpanded(), new float[n][], 0, 0);
        }
        ChunkEmbedder emb = requireEncoder();
        requireChunkSize(options.k(), encoder);
        int budget = options.budget(n);
        decoder.info().requireFits(plan.minLength(budget), describe(options), lengthHint(options));
        String name = options.policy() != null ? options.policy() : defaultPolicy;
        if (name.equals(PolicyNames.NONE)) {
            return new Selection(plan, new float[n][], 0, 0); // expands nothing, by its definition
        }
        ExpansionPolicy policy = policy(name);
        if (budget == 0 && policy.usesBudget()) {
            return new Selection(plan, new float[n][], 0, 0);
        }
        float[][] embeddings = new float[n][];
        int cacheHits = 0;
        if (policy.needsChunkEmbeddings()) {
            ChunkEmbedder.Embedded e = emb.embed(plan.chunks().stream().map(Chunk::text).toList(), options.useCache());
            embeddings = e.rows();
            cacheHits = e.cacheHits();
        }
        float[] queryEmbedding = null;
        if (policy.needsQueryEmbedding()) {
            queryEmbedding = emb.embed(List.of(query.isBlank() ? " " : query), options.useCache()).rows()[0];
        }
        long p0 = System.nanoTime();
        int[] picked = policy.select(new PolicyInput(plan.chunks(), policy.needsChunkEmbeddings() ? embeddings : null,
                query, queryEmbedding, decoder, options.generation().seed()), budget);
        long policyNanos = System.nanoTime() - p0;
        try {
            return new Selection(plan.withExpanded(picked), embeddings, cacheHits, policyNanos);
        } catch (RefragException e) {
            throw new RefragException("policy '" + policy.name() + "' returned " + e.getMessage(), e);
        }
    }

    /**
     * 3. Embed the compressed chunks the policy did not already embed.
     *
     * @return embeddings by chunk index (null for expanded chunks) and the cache hits of the whole request
     */
    private ChunkEmbedder.Embedded embed(Selection selection, RefragOptions options) {
        float[][] rows = selection.embeddings();
        List<Integer> todo = Arrays.stream(selection.plan().compressedChunks()).filter(i -> rows[i] == null).boxed()
                .toList();
        if (todo.isEmpty()) {
            return new ChunkEmbedder.Embedded(rows, selection.cacheHits());
        }
        List<Chunk> chunks = selection.plan().chunks();
        ChunkEmbedder.Embedded e = requireEncoder().embed(todo.stream().map(i -> chunks.get(i).text()).toList(),
                options.useCache());
        for (int j = 0; j < todo.size(); j++) {
            rows[todo.get(j)] = e.rows()[j];
        }
        return new ChunkEmbedder.Embedded(rows, selection.cacheHits() + e.cacheHits());
    }

    private static String describe(RefragOptions o) {
        return o.fullContext() ? "full-context input" : "REFRAG decoder input";
    }

    private static String lengthHint(RefragOptions o) {
        return o.fullContext()
                ? "use REFRAG mode (compression) or fewer passages"
                : "use a larger k (now " + o.k() + "), a smaller expansion fraction or budget, or fewer passages";
    }

    ChunkEmbedder requireEncoder() {
        if (embedder == null) {
            throw new InvalidRequestException("REFRAG mode needs a chunk encoder; build the pipeline with an encoder "
                    + "or request full-context mode");
        }
        return embedder;
    }

    ExpansionPolicy policy(String name) {
        return policies.computeIfAbsent(name,
                n -> Providers.loadPolicy(n, n.equals(defaultPolicy) ? policyFile : null, modelOptions));
    }

    /** @return the policies loaded so far, for closing */
    List<ExpansionPolicy> loadedPolicies() {
        return List.copyOf(policies.values());
    }
}
