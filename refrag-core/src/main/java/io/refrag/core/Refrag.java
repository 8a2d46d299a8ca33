package io.refrag.core;

import io.refrag.core.cache.ChunkEmbedder;
import io.refrag.core.cache.ChunkEmbeddingCache;
import io.refrag.core.cache.DiskChunkCache;
import io.refrag.core.cache.LruChunkCache;
import io.refrag.core.cache.TieredChunkCache;
import io.refrag.core.checkpoint.HfConfig;
import io.refrag.core.chunk.Chunk;
import io.refrag.core.chunk.Chunker;
import io.refrag.core.generate.GenerationResult;
import io.refrag.core.generate.Generator;
import io.refrag.core.spi.CausalDecoder;
import io.refrag.core.spi.ChunkEncoder;
import io.refrag.core.spi.DecoderInput;
import io.refrag.core.spi.ExpansionPolicy;
import io.refrag.core.spi.ModelOptions;
import io.refrag.core.spi.Pooling;
import io.refrag.core.spi.PolicyInput;
import io.refrag.core.spi.Projector;
import io.refrag.core.spi.Providers;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntConsumer;

/**
 * The REFRAG pipeline: chunk the context, encode and project chunks (through the cache), let a policy pick chunks to
 * expand, assemble the mixed decoder input (text tokens, one embedding per compressed chunk, the tokens of each
 * expanded chunk, in document order) and generate. Thread-safe: one pipeline serves concurrent requests.
 *
 * <p>The pipeline owns its parts: {@link #close()} closes the decoder, encoder, projector, policies and cache.
 */
public final class Refrag implements AutoCloseable {
    private final CausalDecoder decoder;
    private final ChunkEncoder encoder;
    private final Projector projector;
    private final ChunkEmbeddingCache cache;
    private final ChunkEmbedder embedder;
    private final Chunker chunker;
    private final RefragOptions defaults;
    private final String defaultPolicy;
    private final Path policyFile;
    private final ModelOptions modelOptions;
    private final Map<String, ExpansionPolicy> policies = new ConcurrentHashMap<>();

    private Refrag(Builder b) {
        this.decoder = b.decoder;
        this.encoder = b.encoder;
        this.projector = b.projector;
        this.cache = b.cache;
        this.defaults = b.defaults;
        this.defaultPolicy = b.policyName;
        this.policyFile = b.policyFile;
        this.modelOptions = b.modelOptions;
        this.chunker = new Chunker(decoder.tokenizer());
        this.embedder = encoder == null ? null : new ChunkEmbedder(encoder, projector, cache);
        if (b.policy != null) {
            policies.put(b.policy.name(), b.policy);
        }
    }

    /** @return a builder; the decoder is required, the encoder for REFRAG (non-full-context) requests */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Loads a pipeline from a folder holding {@code refrag.json} (paths inside are relative to the folder):
     * <pre>{@code
     * {"decoder": "decoder", "encoder": "encoder", "projector": "projector.safetensors",
     *  "policy": "none", "policyFile": "policy.safetensors", "k": 16, "p": 0.25, "pooling": "cls",
     *  "cacheDir": "chunk-cache", "cacheEntries": 100000}
     * }</pre>
     * Only {@code decoder} is required. Without {@code projector} an untrained one is created (with a warning).
     *
     * @param dir the folder
     * @param options device and precision of every model
     * @return the pipeline
     */
    public static Refrag load(Path dir, ModelOptions options) {
        HfConfig c = HfConfig.readFile(dir.resolve("refrag.json"));
        Builder b = builder().optModelOptions(options);
        b.setDecoder(Providers.loadDecoder(dir.resolve(c.requireString("decoder")), options));
        try {
            if (c.has("encoder")) {
                Pooling pooling = Pooling.parse(c.optString("pooling").orElse("cls"));
                b.optEncoder(Providers.loadEncoder(dir.resolve(c.requireString("encoder")), options, pooling));
            }
            if (c.has("projector")) {
                b.optProjector(Providers.projectors().load(dir.resolve(c.requireString("projector")), options));
            }
            b.optPolicy(c.optString("policy").orElse("none"), c.optString("policyFile").map(dir::resolve).orElse(null));
            RefragOptions.Builder d = RefragOptions.builder()
                    .optK(c.optInt("k").orElse(16))
                    .optExpansionFraction(c.optDouble("p", 0.0));
            b.optDefaults(d.build());
            int entries = c.optInt("cacheEntries").orElse(100_000);
            b.optCache(c.optString("cacheDir")
                    .<ChunkEmbeddingCache>map(d2 -> new TieredChunkCache(new LruChunkCache(entries),
                            new DiskChunkCache(dir.resolve(d2), 1024)))
                    .orElseGet(() -> new LruChunkCache(entries)));
            return b.build();
        } catch (RuntimeException e) {
            b.closeParts();
            throw e;
        }
    }

    /** @return the decoder */
    public CausalDecoder decoder() {
        return decoder;
    }

    /** @return the chunk-embedding cache */
    public ChunkEmbeddingCache cache() {
        return cache;
    }

    /** @return the pipeline's default options */
    public RefragOptions defaults() {
        return defaults;
    }

    /**
     * Answers a question over passages with the default prompt template and options.
     *
     * @param question the question
     * @param passages retrieved passages
     * @return the result
     */
    public RefragResult generate(String question, List<String> passages) {
        return generate(RefragRequest.of(question, passages), defaults);
    }

    /**
     * Encodes a corpus's chunks into the cache ahead of requests.
     *
     * @param passages passages as they will appear in requests
     * @param k chunk size the requests will use
     * @param progress receives chunks done so far (may be null)
     * @return number of chunks
     */
    public int precompute(List<String> passages, int k, IntConsumer progress) {
        List<String> texts = chunker.chunk(passages, k).stream().map(Chunk::text).toList();
        requireEncoder().precompute(texts, 256, progress);
        return texts.size();
    }

    /**
     * Positions the request takes in full-context mode (BOS, text tokens, every passage token), computed by
     * tokenization alone.
     *
     * @param request the request
     * @return the full-context length
     */
    public int fullContextTokens(RefragRequest request) {
        int n = decoder.info().bosTokenId() >= 0 ? 1 : 0;
        for (RefragRequest.Segment s : request.segments()) {
            if (s instanceof RefragRequest.Text t) {
                n += decoder.tokenizer().encode(t.text()).length();
            } else if (s instanceof RefragRequest.Context c) {
                n += decoder.tokenizer().encodeBatch(c.passages()).stream().mapToInt(x -> x.length()).sum();
            }
        }
        return n;
    }

    /**
     * Runs one request.
     *
     * @param request the segments
     * @param options per-request options
     * @return text, decisions, lengths and timings
     */
    public RefragResult generate(RefragRequest request, RefragOptions options) {
        long start = System.nanoTime();
        int maxPositions = decoder.info().maxPositions();
        int bos = decoder.info().bosTokenId();

        // 1. tokenize text segments, chunk context segments (decoder tokens)
        List<Object> parts = new ArrayList<>(); // int[] for text, List<Chunk> for context
        List<Chunk> chunks = new ArrayList<>();
        int textTokens = bos >= 0 ? 1 : 0;
        for (RefragRequest.Segment s : request.segments()) {
            if (s instanceof RefragRequest.Text t) {
                int[] ids = decoder.tokenizer().encode(t.text()).ids();
                textTokens += ids.length;
                parts.add(ids);
            } else if (s instanceof RefragRequest.Context c) {
                List<Chunk> cs = chunker.chunk(c.passages(), options.k());
                chunks.addAll(cs);
                parts.add(cs);
            }
        }
        int chunkTokens = chunks.stream().mapToInt(Chunk::length).sum();
        int fullContextTokens = textTokens + chunkTokens;

        // 2. decide what to expand; check lengths before any native work
        BitSet expanded = new BitSet(chunks.size());
        float[][] embeddings = new float[chunks.size()][];
        int cacheHits = 0;
        long policyNanos = 0;
        if (options.fullContext() || chunks.isEmpty()) {
            expanded.set(0, chunks.size());
            requireFits(fullContextTokens, maxPositions, "full-context input", options);
        } else {
            ChunkEmbedder emb = requireEncoder();
            int budget = options.budget(chunks.size());
            int[] shortest = chunks.stream().mapToInt(Chunk::length).sorted().toArray();
            int minLength = textTokens + (chunks.size() - budget) + Arrays.stream(shortest, 0, budget).sum();
            requireFits(minLength, maxPositions, "REFRAG decoder input", options);
            ExpansionPolicy policy = policy(options.policy() != null ? options.policy() : defaultPolicy);
            if (budget > 0 || !policy.usesBudget()) {
                float[] query = null;
                if (policy.needsChunkEmbeddings()) {
                    ChunkEmbedder.Embedded e = emb.embed(texts(chunks), options.useCache());
                    embeddings = e.rows();
                    cacheHits += e.cacheHits();
                }
                if (policy.needsQueryEmbedding()) {
                    query = emb.embed(List.of(request.queryText().isBlank() ? " " : request.queryText()),
                            options.useCache()).rows()[0];
                }
                long p0 = System.nanoTime();
                int[] picked = policy.select(new PolicyInput(chunks, policy.needsChunkEmbeddings() ? embeddings : null,
                        request.queryText(), query, decoder, options.generation().seed()), budget);
                policyNanos = System.nanoTime() - p0;
                for (int i : picked) {
                    if (i < 0 || i >= chunks.size() || expanded.get(i)) {
                        throw new RefragException("policy '" + policy.name() + "' returned invalid or repeated chunk "
                                + "index " + i + " (chunks: " + chunks.size() + ")");
                    }
                    expanded.set(i);
                }
            }
            List<Integer> todo = new ArrayList<>();
            for (int i = 0; i < chunks.size(); i++) {
                if (!expanded.get(i) && embeddings[i] == null) {
                    todo.add(i);
                }
            }
            if (!todo.isEmpty()) {
                ChunkEmbedder.Embedded e = emb.embed(todo.stream().map(i -> chunks.get(i).text()).toList(),
                        options.useCache());
                for (int j = 0; j < todo.size(); j++) {
                    embeddings[todo.get(j)] = e.rows()[j];
                }
                cacheHits += e.cacheHits();
            }
        }

        // 3. assemble the mixed sequence in document order
        DecoderInput.Builder in = DecoderInput.builder();
        if (bos >= 0) {
            in.tokens(bos);
        }
        List<RefragResult.ChunkDecision> decisions = new ArrayList<>(chunks.size());
        int next = 0;
        for (Object part : parts) {
            if (part instanceof int[] ids) {
                in.tokens(ids);
                continue;
            }
            @SuppressWarnings("unchecked")
            List<Chunk> cs = (List<Chunk>) part;
            List<float[]> run = new ArrayList<>();
            for (Chunk c : cs) {
                int i = next++;
                decisions.add(new RefragResult.ChunkDecision(c.passage(), c.index(), c.length(), expanded.get(i)));
                if (expanded.get(i)) {
                    in.embeddings(run.toArray(float[][]::new));
                    run.clear();
                    in.tokens(c.tokenIds());
                } else {
                    run.add(embeddings[i]);
                }
            }
            in.embeddings(run.toArray(float[][]::new));
        }
        DecoderInput input = in.build();
        requireFits(input.length(), maxPositions, options.fullContext() ? "full-context input" : "REFRAG decoder input",
                options);
        long encodeNanos = System.nanoTime() - start - policyNanos;

        // 4. prefill + decode; TTFT counts from the request start
        GenerationResult g = Generator.generate(decoder, input, options.generation(), start);
        return new RefragResult(g, List.copyOf(decisions), input.length(), fullContextTokens, encodeNanos / 1e6,
                policyNanos / 1e6, cacheHits);
    }

    private static List<String> texts(List<Chunk> chunks) {
        return chunks.stream().map(Chunk::text).toList();
    }

    private ChunkEmbedder requireEncoder() {
        if (embedder == null) {
            throw new InvalidRequestException("REFRAG mode needs a chunk encoder; build the pipeline with an encoder "
                    + "or request full-context mode");
        }
        return embedder;
    }

    private ExpansionPolicy policy(String name) {
        return policies.computeIfAbsent(name,
                n -> Providers.loadPolicy(n, n.equals(defaultPolicy) ? policyFile : null, modelOptions));
    }

    private static void requireFits(int needed, int limit, String what, RefragOptions o) {
        if (needed > limit) {
            String hint = o.fullContext()
                    ? "use REFRAG mode (compression) or fewer passages"
                    : "use a larger k (now " + o.k() + "), a smaller expansion fraction or budget, or fewer passages";
            throw new ContextTooLongException(what + " needs " + needed + " positions but the decoder's context length "
                    + "is " + limit + " (" + (needed - limit) + " too many); " + hint, needed, limit);
        }
    }

    @Override
    public void close() {
        policies.values().forEach(ExpansionPolicy::close);
        cache.close();
        if (projector != null) {
            projector.close();
        }
        if (encoder != null) {
            encoder.close();
        }
        decoder.close();
    }

    /** Builds a {@link Refrag}; {@code setX} for required parts, {@code optX} for optional ones. */
    public static final class Builder {
        private CausalDecoder decoder;
        private ChunkEncoder encoder;
        private Projector projector;
        private ExpansionPolicy policy;
        private String policyName = "none";
        private Path policyFile;
        private ChunkEmbeddingCache cache;
        private RefragOptions defaults = RefragOptions.builder().build();
        private ModelOptions modelOptions = ModelOptions.defaults();
        private long projectorSeed;

        private Builder() {
        }

        /**
         * @param d the decoder (required)
         * @return this builder
         */
        public Builder setDecoder(CausalDecoder d) {
            this.decoder = d;
            return this;
        }

        /**
         * @param e the chunk encoder (needed for REFRAG requests)
         * @return this builder
         */
        public Builder optEncoder(ChunkEncoder e) {
            this.encoder = e;
            return this;
        }

        /**
         * @param p the projector; without one an untrained projector is created
         * @return this builder
         */
        public Builder optProjector(Projector p) {
            this.projector = p;
            return this;
        }

        /**
         * @param seed seed of the untrained projector created when none is given
         * @return this builder
         */
        public Builder optProjectorSeed(long seed) {
            this.projectorSeed = seed;
            return this;
        }

        /**
         * @param p the default expansion policy instance
         * @return this builder
         */
        public Builder optPolicy(ExpansionPolicy p) {
            this.policy = p;
            this.policyName = p.name();
            return this;
        }

        /**
         * @param name the default policy's registered name
         * @param file its weights (learned policies) or null
         * @return this builder
         */
        public Builder optPolicy(String name, Path file) {
            this.policyName = name;
            this.policyFile = file;
            return this;
        }

        /**
         * @param c chunk-embedding cache (default: in-memory LRU of 100,000 entries)
         * @return this builder
         */
        public Builder optCache(ChunkEmbeddingCache c) {
            this.cache = c;
            return this;
        }

        /**
         * @param o default per-request options
         * @return this builder
         */
        public Builder optDefaults(RefragOptions o) {
            this.defaults = o;
            return this;
        }

        /**
         * @param o device and precision for parts the pipeline creates (projector, policies)
         * @return this builder
         */
        public Builder optModelOptions(ModelOptions o) {
            this.modelOptions = o;
            return this;
        }

        /**
         * @return the pipeline
         * @throws InvalidRequestException if parts are missing or their sizes do not fit together
         */
        public Refrag build() {
            if (decoder == null) {
                throw new InvalidRequestException("a decoder is required: call setDecoder");
            }
            int hidden = decoder.info().hiddenSize();
            if (encoder != null && projector == null) {
                projector = Providers.projectors().createUntrained(encoder.hiddenSize(), hidden, projectorSeed,
                        modelOptions);
            }
            if (projector != null && projector.outputSize() != hidden) {
                throw new InvalidRequestException("projector output size " + projector.outputSize()
                        + " does not match the decoder hidden size " + hidden);
            }
            if (encoder != null && projector.inputSize() != encoder.hiddenSize()) {
                throw new InvalidRequestException("projector input size " + projector.inputSize()
                        + " does not match the encoder hidden size " + encoder.hiddenSize());
            }
            if (cache == null) {
                cache = new LruChunkCache(100_000);
            }
            return new Refrag(this);
        }

        private void closeParts() {
            for (AutoCloseable c : new AutoCloseable[] {projector, encoder, decoder, cache}) {
                if (c != null) {
                    try {
                        c.close();
                    } catch (Exception ignored) {
                        // already failing: the original exception is rethrown
                    }
                }
            }
        }
    }
}
