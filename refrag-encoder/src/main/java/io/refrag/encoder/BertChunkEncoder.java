package io.refrag.encoder;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.refrag.core.checkpoint.Checkpoints;
import io.refrag.core.checkpoint.Checksums;
import io.refrag.core.checkpoint.SafetensorsCheckpoint;
import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.exception.ModelLoadException;
import io.refrag.core.json.JsonConfig;
import io.refrag.core.lora.LoraAdapter;
import io.refrag.core.lora.LoraConfig;
import io.refrag.core.model.ModelOptions;
import io.refrag.core.model.Pooling;
import io.refrag.core.tensor.CpuThreads;
import io.refrag.core.tensor.Tensors;
import io.refrag.core.tokenizer.HfTextTokenizer;
import io.refrag.core.tokenizer.Tokenized;
import io.refrag.core.spi.train.TrainableEncoder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A BERT/RoBERTa checkpoint serving as REFRAG's chunk encoder: tokenizes with the encoder's own tokenizer (special
 * tokens added, truncation to the position limit, no padding from the file), sorts texts by length, runs padded
 * batches with attention masks and pools one vector per text. Thread-safe. Loaded with
 * {@link ModelOptions#trainable()}, it also hands its weights to the fine-tuning hooks.
 */
public final class BertChunkEncoder implements TrainableEncoder {
    private static final Logger LOG = LoggerFactory.getLogger(BertChunkEncoder.class);
    /** Most padded tokens per forward batch. */
    private static final int BATCH_TOKENS = 8192;
    /** Most texts per forward batch. */
    private static final int BATCH_TEXTS = 128;

    private final String id;
    private final NDManager manager;
    private final BertModel model;
    private final HfTextTokenizer tokenizer;
    private final Pooling pooling;
    private final Path folder;
    private final boolean trainable;
    private final CpuThreads threads; // null off the CPU

    private BertChunkEncoder(String id, NDManager manager, BertModel model, HfTextTokenizer tokenizer, Pooling pooling,
            Path folder, boolean trainable, CpuThreads threads) {
        this.id = id;
        this.threads = threads;
        this.folder = folder;
        this.trainable = trainable;
        this.manager = manager;
        this.model = model;
        this.tokenizer = tokenizer;
        this.pooling = pooling;
    }

    /**
     * @param folder HF checkpoint folder (config.json, safetensors, tokenizer.json)
     * @param options device and precision
     * @param pooling CLS, MEAN or POOLER
     * @return the encoder
     */
    public static BertChunkEncoder load(Path folder, ModelOptions options, Pooling pooling) {
        return load(folder, JsonConfig.read(folder), options, pooling);
    }

    static BertChunkEncoder load(Path folder, JsonConfig hf, ModelOptions options, Pooling pooling) {
        BertConfig config = BertConfig.from(hf);
        HfTextTokenizer tokenizer = HfTextTokenizer.load(folder, true, config.maxTokens());
        return Checkpoints.load(folder, options.device(), options.precision().dataType(), options.trainable(),
                tokenizer, (weights, manager) -> {
            LoraAdapter lora = options.adapter() == null ? null : LoraAdapter.read(options.adapter(), manager);
            boolean merge = lora != null && !options.unmergedAdapter() && !options.trainable();
            if (merge) {
                weights.mergeAdapter(lora);
            }
            BertModel model = BertModel.load(config, weights, options.precision().dataType());
            if (lora != null && !merge) {
                lora.requireFits(model.linears());
                model.attach(lora);
            }
            if (pooling == Pooling.POOLER && !model.hasPooler()) {
                throw new ModelLoadException(folder + " has no pooler.dense weights; pooling 'pooler' is unavailable, "
                        + "use cls or mean");
            }
            LOG.info("loaded {} encoder {} ({} layers, hidden {}) on {} as {}, {} pooling{}", config.modelType(),
                    folder, config.numHiddenLayers(), config.hiddenSize(), manager.getDevice(), options.precision(),
                    pooling, lora == null ? "" : ", LoRA adapter " + options.adapter() + (merge ? " merged" : " unmerged"));
            String id = config.modelType() + ":" + contentHash(folder, options.adapter()) + ":" + options.precision()
                    + ":" + pooling;
            // its own thread rule: a 384-wide encoder uses the cores even beside a decoder small enough for one thread
            CpuThreads threads = ai.djl.Device.Type.CPU.equals(manager.getDevice().getDeviceType())
                    ? CpuThreads.forModel(options.threads(), config.hiddenSize()) : null;
            return new BertChunkEncoder(id, manager, model, tokenizer, pooling, folder, options.trainable(), threads);
        });
    }

    /**
     * The id names the model by content, not by path, so that chunk embeddings cached or stored for it are found
     * again from any copy of the folder, on any machine.
     */
    private static String contentHash(Path folder, Path adapter) {
        List<Path> files = new ArrayList<>(List.of(folder.resolve("config.json"), folder.resolve("tokenizer.json")));
        files.addAll(SafetensorsCheckpoint.weightFiles(folder));
        if (adapter != null) {
            files.add(adapter.resolve(LoraAdapter.CONFIG_FILE));
            files.add(adapter.resolve(LoraAdapter.WEIGHTS_FILE));
        }
        return Checksums.sha256(files);
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public int maxTokens() {
        return model.config().maxTokens();
    }

    @Override
    public int hiddenSize() {
        return model.config().hiddenSize();
    }

    /** @return the encoder's own tokenizer ([CLS]/[SEP] or &lt;s&gt;/&lt;/s&gt; added) */
    public HfTextTokenizer tokenizer() {
        return tokenizer;
    }

    /** @return the weights, for fine-tuning code */
    public BertModel model() {
        return model;
    }

    /** @return arrays held by the weights' manager and every batch in flight */
    public int liveArrayCount() {
        return manager.getManagedArrays().size();
    }

    @Override
    public float[][] encode(List<String> texts) {
        beforeWork();
        List<Tokenized> tokens = tokenizer.encodeBatch(texts);
        Integer[] order = new Integer[texts.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, Comparator.comparingInt(i -> tokens.get(i).length()));
        float[][] out = new float[texts.size()][];
        int start = 0;
        while (start < order.length) {
            int end = start + 1;
            while (end < order.length && end - start < BATCH_TEXTS
                    && (long) (end - start + 1) * tokens.get(order[end]).length() <= BATCH_TOKENS) {
                end++;
            }
            encodeBatch(tokens, Arrays.copyOfRange(order, start, end), out);
            start = end;
        }
        return out;
    }

    /** Encodes texts of similar length (sorted) as one padded batch. */
    private void encodeBatch(List<Tokenized> tokens, Integer[] batch, float[][] out) {
        try (NDManager m = manager.newSubManager()) {
            float[][] rows = Tensors.toRows(forward(m, Arrays.stream(batch).map(tokens::get).toList()));
            for (int b = 0; b < batch.length; b++) {
                out[batch[b]] = rows[b];
            }
        }
    }

    /** Runs one padded batch: {@code [batch, hidden]} float32 pooled vectors, owned by {@code m}. */
    private NDArray forward(NDManager m, List<Tokenized> batch) {
        int seq = batch.stream().mapToInt(Tokenized::length).max().orElseThrow();
        int[] ids = new int[batch.size() * seq];
        int[] mask = new int[batch.size() * seq];
        Arrays.fill(ids, model.config().padTokenId());
        for (int b = 0; b < batch.size(); b++) {
            int[] t = batch.get(b).ids();
            System.arraycopy(t, 0, ids, b * seq, t.length);
            Arrays.fill(mask, b * seq, b * seq + t.length, 1);
        }
        NDArray idArray = m.create(ids, new Shape(batch.size(), seq)); // [batch, seq]
        NDArray maskArray = m.create(mask, new Shape(batch.size(), seq)); // [batch, seq]
        NDArray pooled = model.pool(model.forward(idArray, maskArray), maskArray, pooling); // [batch, hidden]
        return pooled.getDataType() == DataType.FLOAT32 ? pooled : pooled.toType(DataType.FLOAT32, false);
    }

    @Override
    public NDArray encode(NDManager m, List<String> texts) {
        if (texts.isEmpty()) {
            throw new InvalidRequestException("nothing to encode: the text list is empty");
        }
        beforeWork();
        return forward(m, tokenizer.encodeBatch(texts));
    }

    /** Gives the calling thread the encoder's intra-op count (the decoder sets its own before its work). */
    private void beforeWork() {
        if (threads != null) {
            threads.beforeWork();
        }
    }

    /**
     * The weights the optimiser updates: the LoRA adapters' matrices when adapters are attached (the base weights
     * then stay frozen), else every weight.
     */
    @Override
    public Map<String, NDArray> parameters() {
        if (!trainable || model.computeType() != DataType.FLOAT32) {
            throw new InvalidRequestException("encoder " + folder + " was loaded for serving; load it with "
                    + "ModelOptions.withTrainable() and fp32 to train it");
        }
        LoraAdapter lora = model.adapter();
        return lora != null ? lora.parameters() : model.weights().asMap();
    }

    @Override
    public void addAdapter(LoraConfig config, long seed) {
        Map<String, long[]> used = new LinkedHashMap<>(model.linears());
        if (pooling != Pooling.POOLER) { // the pooler is off the forward path: adapters there would get no gradient
            used.keySet().removeIf(m -> m.endsWith("pooler.dense"));
        }
        model.attach(LoraAdapter.createFor("encoder " + folder, trainable, model.adapter(), config, used, manager,
                seed));
    }

    @Override
    public boolean hasAdapter() {
        return model.adapter() != null;
    }

    @Override
    public void saveAdapter(Path target, String baseModel) {
        LoraAdapter.saveFrom("encoder " + folder, model.adapter(), target, baseModel);
    }

    @Override
    public void saveCheckpoint(Path target) {
        model.weights().writeFolder(folder, target);
    }

    @Override
    public void close() {
        manager.close();
        tokenizer.close();
    }
}
