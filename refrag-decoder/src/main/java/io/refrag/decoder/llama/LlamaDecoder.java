package io.refrag.decoder.llama;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import io.refrag.core.checkpoint.Checkpoints;
import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.json.JsonConfig;
import io.refrag.core.lora.LoraAdapter;
import io.refrag.core.lora.LoraConfig;
import io.refrag.core.model.CausalDecoder;
import io.refrag.core.model.DecoderInfo;
import io.refrag.core.model.DecoderInput;
import io.refrag.core.model.DecoderSession;
import io.refrag.core.model.ModelOptions;
import io.refrag.core.tensor.CpuThreads;
import io.refrag.core.tensor.Devices;
import io.refrag.core.tensor.PackedLinear;
import io.refrag.core.tensor.Tensors;
import io.refrag.core.tokenizer.HfTextTokenizer;
import io.refrag.core.tokenizer.TextTokenizer;
import io.refrag.core.spi.train.TrainableDecoder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A LLaMA checkpoint folder loaded for serving: weights in the model's manager, requests in sub-managers, each decode
 * step in its own scope. Thread-safe; every request owns its {@link DecoderSession}. Loaded with
 * {@link ModelOptions#trainable()}, it also hands its weights to the fine-tuning hooks.
 */
public final class LlamaDecoder implements TrainableDecoder {
    private static final Logger LOG = LoggerFactory.getLogger(LlamaDecoder.class);
    /** Rows of logits materialised at once when scoring. */
    private static final long LOGIT_BUDGET = 1L << 24;

    private final String id;
    private final NDManager manager;
    private final LlamaForCausalLM model;
    private final HfTextTokenizer tokenizer;
    private final DecoderInfo info;
    private final Path folder;
    private final boolean trainable;
    private final AtomicInteger openSessions = new AtomicInteger();
    private final CpuThreads threads; // null off the CPU

    private LlamaDecoder(String id, NDManager manager, LlamaForCausalLM model, HfTextTokenizer tokenizer,
            int[] eosTokenIds, Path folder, boolean trainable, CpuThreads threads) {
        this.id = id;
        this.threads = threads;
        this.folder = folder;
        this.trainable = trainable;
        this.manager = manager;
        this.model = model;
        this.tokenizer = tokenizer;
        LlamaConfig c = model.config();
        this.info = new DecoderInfo(c.hiddenSize(), c.vocabSize(), c.maxPositionEmbeddings(), c.bosTokenId(),
                eosTokenIds);
    }

    /** EOS ids: {@code generation_config.json}'s when present (as HF generate() does), else config.json's. */
    private static int[] eosTokenIds(Path folder, LlamaConfig config) {
        Path generation = folder.resolve("generation_config.json");
        if (Files.isRegularFile(generation)) {
            int[] ids = JsonConfig.readFile(generation).optIntList("eos_token_id");
            if (ids.length > 0) {
                return ids;
            }
        }
        return config.eosTokenIds().clone();
    }

    /**
     * Loads {@code config.json}, the safetensors weights, {@code tokenizer.json} and, when present,
     * {@code generation_config.json} of a folder.
     *
     * @param folder the checkpoint folder
     * @param options device and precision
     * @return the decoder
     */
    public static LlamaDecoder load(Path folder, ModelOptions options) {
        return load(folder, JsonConfig.read(folder), options);
    }

    static LlamaDecoder load(Path folder, JsonConfig hf, ModelOptions options) {
        LlamaConfig config = LlamaConfig.from(hf);
        boolean cpu = Device.Type.CPU.equals(Devices.resolve(options.device()).getDeviceType());
        CpuThreads threads = cpu ? CpuThreads.forModel(options.threads(), config.hiddenSize()) : null;
        if (cpu) {
            Devices.applyIntraOpThreads(threads.chosen()); // on the caller's thread, which goes on to serve or train
        }
        boolean prepack = options.precision().dataType() == DataType.FLOAT32 && Devices.prepack();
        HfTextTokenizer tokenizer = HfTextTokenizer.load(folder, false, 0);
        return Checkpoints.load(folder, options.device(), options.precision().dataType(), options.trainable(),
                tokenizer, (weights, manager) -> {
            boolean serving = cpu && !options.trainable();
            LoraAdapter lora = options.adapter() == null ? null : LoraAdapter.read(options.adapter(), manager);
            boolean merge = lora != null && !options.unmergedAdapter() && !options.trainable();
            if (merge) {
                weights.mergeAdapter(lora); // before the projections pack their weights
            }
            LlamaForCausalLM model = LlamaForCausalLM.load(config, weights, options.precision().dataType(),
                    new Projection.Plan(serving ? threads.chosen() : 1, serving && prepack));
            if (lora != null && !merge) {
                lora.requireFits(model.linears());
                model.attach(lora);
            }
            LOG.info("loaded LLaMA {} ({} layers, hidden {}, {} heads / {} kv) on {} as {}{}", folder,
                    config.numHiddenLayers(), config.hiddenSize(), config.numAttentionHeads(),
                    config.numKeyValueHeads(), manager.getDevice(), options.precision(), lora == null ? ""
                            : ", LoRA adapter " + options.adapter() + (merge ? " merged" : " unmerged"));
            String id = "llama:" + folder.toAbsolutePath().normalize() + ":" + options.precision()
                    + (lora == null ? "" : ":" + options.adapter().toAbsolutePath().normalize());
            return new LlamaDecoder(id, manager, model, tokenizer, eosTokenIds(folder, config), folder,
                    options.trainable(), threads);
        });
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public DecoderInfo info() {
        return info;
    }

    @Override
    public TextTokenizer tokenizer() {
        return tokenizer;
    }

    /** @return the weights, for fine-tuning code that runs the forward pass under autograd */
    public LlamaForCausalLM model() {
        return model;
    }

    /** @return arrays held by the model's manager and every open request (weights alone when idle) */
    public int liveArrayCount() {
        return manager.getManagedArrays().size();
    }

    /** @return sessions not yet closed */
    public int openSessionCount() {
        return openSessions.get();
    }

    /**
     * The weights the optimiser updates: the LoRA adapters' matrices when adapters are attached (the base weights
     * then stay frozen), else every weight.
     */
    @Override
    public Map<String, NDArray> parameters() {
        if (!trainable || model.computeType() != DataType.FLOAT32) {
            throw new InvalidRequestException("decoder " + folder + " was loaded for serving" + (trainable ? " in "
                    + model.computeType() : "") + "; load it with ModelOptions.withTrainable() and fp32 to train it");
        }
        LoraAdapter lora = model.adapter();
        return lora != null ? lora.parameters() : model.weights().asMap();
    }

    @Override
    public void addAdapter(LoraConfig config, long seed) {
        model.attach(LoraAdapter.createFor("decoder " + folder, trainable, model.adapter(), config, model.linears(),
                manager, seed));
    }

    @Override
    public boolean hasAdapter() {
        return model.adapter() != null;
    }

    @Override
    public void saveAdapter(Path target, String baseModel) {
        LoraAdapter.saveFrom("decoder " + folder, model.adapter(), target, baseModel);
    }

    @Override
    public NDArray inputsEmbeds(NDArray ids) {
        NDArray rows = model.embedTokens(ids); // [n, hidden]
        return rows.getDataType() == DataType.FLOAT32 ? rows : rows.toType(DataType.FLOAT32, false);
    }

    @Override
    public NDArray logits(NDArray inputsEmbeds, int from) {
        int seq = Math.toIntExact(inputsEmbeds.getShape().get(0));
        info.requireFits(seq, "training sequence", "");
        if (from < 0 || from >= seq) {
            throw new InvalidRequestException("logits from position " + from + " of a " + seq + "-position sequence");
        }
        beforeWork();
        NDArray x = inputsEmbeds.getDataType() == model.computeType()
                ? inputsEmbeds : inputsEmbeds.toType(model.computeType(), false);
        NDArray hidden = model.forward(x, null, 0).get(new NDIndex("{}:", from)); // [seq - from, hidden]
        NDArray logits = model.logits(hidden); // [seq - from, vocab]
        return logits.getDataType() == DataType.FLOAT32 ? logits : logits.toType(DataType.FLOAT32, false);
    }

    @Override
    public void saveCheckpoint(Path target) {
        model.weights().writeFolder(folder, target);
    }

    @Override
    public float[][] embedTokens(int[] ids) {
        try (NDManager request = manager.newSubManager()) {
            return Tensors.toRows(embed(request, DecoderInput.ofTokens(ids)));
        }
    }

    @Override
    public DecoderSession newSession(int capacity) {
        if (capacity < 1 || capacity > info.maxPositions()) {
            throw new InvalidRequestException("session capacity must be in [1, " + info.maxPositions()
                    + "] (max_position_embeddings), got " + capacity);
        }
        long bytes = model.kvCacheBytes(capacity);
        long limit = Devices.maxKvCacheBytes();
        if (bytes > limit) {
            throw new InvalidRequestException("a KV cache of " + capacity + " positions (prompt + max new tokens, at "
                    + "most max_position_embeddings) needs " + (bytes >> 20) + " MiB, over the " + (limit >> 20)
                    + " MiB one request may take (half the physical memory, or -D" + Devices.MAX_KV_CACHE_BYTES
                    + "); ask for fewer new tokens");
        }
        NDManager request = manager.newSubManager();
        openSessions.incrementAndGet();
        return new Session(request, model.newCache(request, capacity));
    }

    /**
     * One decode step for several requests in one forward pass: the projections and the LM head run once over the
     * batch (the weights are read once), attention runs per request over its own cache.
     */
    @Override
    public float[][] decodeBatch(List<DecoderSession> sessions, int[] tokens) {
        if (sessions.size() != tokens.length || tokens.length == 0) {
            throw new InvalidRequestException("decodeBatch needs one token per session, got " + tokens.length
                    + " tokens for " + sessions.size() + " sessions");
        }
        int[] lengths = new int[tokens.length];
        Arrays.fill(lengths, 1);
        return forwardBatch("decodeBatch", sessions, DecoderInput.ofTokens(tokens), lengths);
    }

    /**
     * Prefills several requests in one forward pass: the projections run once over all their positions, attention
     * runs per request over its own cache, and the LM head over each request's last position.
     */
    @Override
    public float[][] prefillBatch(List<DecoderSession> sessions, List<DecoderInput> inputs) {
        if (sessions.size() != inputs.size() || inputs.isEmpty()) {
            throw new InvalidRequestException("prefillBatch needs one input per session, got " + inputs.size()
                    + " inputs for " + sessions.size() + " sessions");
        }
        DecoderInput.Builder joined = DecoderInput.builder();
        int[] lengths = new int[inputs.size()];
        for (int b = 0; b < lengths.length; b++) {
            joined.append(inputs.get(b));
            lengths[b] = inputs.get(b).length();
        }
        return forwardBatch("prefillBatch", sessions, joined.build(), lengths);
    }

    /**
     * Runs each session's input after its cached positions, all in one pass; logits after each input's last.
     *
     * @param joined the sessions' inputs one after another, {@code lengths[b]} positions for session b
     */
    private float[][] forwardBatch(String what, List<DecoderSession> sessions, DecoderInput joined, int[] lengths) {
        int batch = lengths.length;
        Session[] own = new Session[batch];
        KvCache[] caches = new KvCache[batch];
        int[] pasts = new int[batch];
        for (int b = 0; b < batch; b++) {
            if (!(sessions.get(b) instanceof Session s) || s.owner() != this || s.closed) {
                throw new InvalidRequestException(what + ": session " + b + " is not an open session of this decoder");
            }
            for (int c = 0; c < b; c++) {
                if (own[c] == s) {
                    throw new InvalidRequestException(what + ": session " + b + " appears twice");
                }
            }
            DecoderInfo.requireFits(s.position + lengths[b], s.cache.capacity(), "session (KV cache capacity)", "");
            own[b] = s;
            caches[b] = s.cache;
            pasts[b] = s.position;
        }
        beforeWork();
        float[] logits = PackedLinear.inference(() -> {
            try (NDManager step = manager.newSubManager()) {
                NDArray hidden = model.forwardBatch(embed(step, joined), caches, pasts, lengths); // [rows, hidden]
                if (hidden.getShape().get(0) != batch) { // a prompt per request: each one's last position
                    NDList last = new NDList(batch);
                    for (int b = 0, end = 0; b < batch; b++) {
                        end += lengths[b];
                        last.add(hidden.get(new NDIndex("{}:{}", end - 1, end)));
                    }
                    hidden = NDArrays.concat(last, 0); // [batch, hidden]
                }
                return model.logits(hidden).toType(DataType.FLOAT32, false).toFloatArray(); // [batch * vocab]
            }
        });
        float[][] rows = new float[batch][];
        int vocab = info.vocabSize();
        for (int b = 0; b < batch; b++) {
            rows[b] = Arrays.copyOfRange(logits, b * vocab, (b + 1) * vocab);
            own[b].position += lengths[b];
        }
        return rows;
    }

    @Override
    public float[] tokenNll(DecoderInput context, int[] targets) {
        if (targets.length == 0) {
            throw new InvalidRequestException("tokenNll needs at least one target token");
        }
        DecoderInput full = DecoderInput.builder()
                .append(context)
                .tokens(Arrays.copyOf(targets, targets.length - 1))
                .build();
        info.requireFits(full.length(), "scored sequence", "");
        int ctx = context.length();
        beforeWork();
        try (NDManager request = manager.newSubManager()) {
            NDArray hidden = model.forward(embed(request, full), null, 0); // [len, hidden]
            NDArray scored = hidden.get(new NDIndex("{}:", ctx - 1)); // [targets, hidden]
            NDArray target = request.create(targets); // [targets]
            long rowsPerBlock = Math.max(1, LOGIT_BUDGET / info.vocabSize());
            NDList nll = new NDList();
            for (long r0 = 0; r0 < targets.length; r0 += rowsPerBlock) {
                long r1 = Math.min(targets.length, r0 + rowsPerBlock);
                NDArray logits = model.logits(scored.get(new NDIndex("{}:{}", r0, r1)))
                        .toType(DataType.FLOAT32, false); // [rows, vocab]
                nll.add(Tensors.tokenNll(logits, target.get(new NDIndex("{}:{}", r0, r1)))); // [rows, 1]
            }
            return CausalDecoder.requireFinite(NDArrays.concat(nll, 0).toFloatArray(), "token NLLs");
        }
    }

    /**
     * Builds {@code [seq, hidden]} input embeddings: token segments through {@code embed_tokens}, embedding segments
     * as given.
     */
    private NDArray embed(NDManager m, DecoderInput input) {
        NDList parts = new NDList();
        for (DecoderInput.Segment s : input.segments()) {
            if (s instanceof DecoderInput.Tokens t) {
                for (int id : t.ids()) {
                    if (id < 0 || id >= info.vocabSize()) {
                        throw new InvalidRequestException("token id " + id + " is outside the vocabulary [0, "
                                + info.vocabSize() + ")");
                    }
                }
                parts.add(model.embedTokens(m.create(t.ids())));
            } else if (s instanceof DecoderInput.Embeddings e) {
                parts.add(Tensors.fromRows(m, e.rows(), info.hiddenSize(), i -> "embedding row " + i + " has "
                        + e.rows()[i].length + " values but the decoder's hidden size is " + info.hiddenSize())
                        .toType(model.computeType(), false));
            }
        }
        return parts.size() == 1 ? parts.singletonOrThrow() : NDArrays.concat(parts, 0);
    }


    /** Gives the calling thread the intra-op count in force (on the CPU), which follows the load unless set. */
    private void beforeWork() {
        if (threads != null) {
            threads.beforeWork();
        }
    }

    /** @return the CPU thread count this decoder runs with, or null off the CPU */
    public CpuThreads cpuThreads() {
        return threads;
    }

    @Override
    public void close() {
        manager.close();
        tokenizer.close();
    }

    /** One request: a sub-manager owning the KV cache; each forward runs in a step sub-manager closed at its end. */
    private final class Session implements DecoderSession {
        private final NDManager request;
        private final KvCache cache;
        private int position;
        private boolean closed;

        Session(NDManager request, KvCache cache) {
            this.request = request;
            this.cache = cache;
        }

        @Override
        public float[] prefill(DecoderInput input) {
            return forward(input);
        }

        @Override
        public float[] decode(int tokenId) {
            return forward(DecoderInput.ofTokens(tokenId));
        }

        private float[] forward(DecoderInput input) {
            if (closed) {
                throw new IllegalStateException("session is closed");
            }
            DecoderInfo.requireFits(position + input.length(), cache.capacity(), "session (KV cache capacity)", "");
            beforeWork();
            return PackedLinear.inference(() -> { // whatever thread serves: no autograd bookkeeping
                try (NDManager step = request.newSubManager()) {
                    NDArray hidden = model.forward(embed(step, input), cache, position); // [seq, hidden]
                    NDArray last = hidden.get(new NDIndex("-1:")); // [1, hidden]
                    float[] logits = model.logits(last).toType(DataType.FLOAT32, false).toFloatArray();
                    position += input.length();
                    return logits;
                }
            });
        }

        @Override
        public int position() {
            return position;
        }

        LlamaDecoder owner() {
            return LlamaDecoder.this;
        }

        @Override
        public int capacity() {
            return cache.capacity();
        }

        @Override
        public long kvCacheBytes() {
            return cache.bytes();
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                request.close();
                openSessions.decrementAndGet();
            }
        }
    }
}
