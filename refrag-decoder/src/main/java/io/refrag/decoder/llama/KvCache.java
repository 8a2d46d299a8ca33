package io.refrag.decoder.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * A request's static KV cache (HF {@code StaticCache}): per layer, keys and values of {@code [kvHeads, capacity,
 * headDim]} allocated once and written in place at the cache position; never re-concatenated.
 */
public final class KvCache {
    private final NDArray[] keys;
    private final NDArray[] values;
    private final int capacity;

    KvCache(NDManager manager, LlamaConfig config, int capacity, DataType type) {
        this.capacity = capacity;
        this.keys = new NDArray[config.numHiddenLayers()];
        this.values = new NDArray[config.numHiddenLayers()];
        Shape shape = new Shape(config.numKeyValueHeads(), capacity, config.headDim());
        for (int i = 0; i < keys.length; i++) {
            keys[i] = manager.zeros(shape, type);
            values[i] = manager.zeros(shape, type);
        }
    }

    /**
     * @return bytes a cache of {@code capacity} positions takes: keys and values of every layer
     */
    static long bytesFor(LlamaConfig config, long capacity, DataType type) {
        return 2L * config.numHiddenLayers() * config.numKeyValueHeads() * config.headDim() * capacity
                * type.getNumOfBytes();
    }

    /** @return positions the cache holds */
    int capacity() {
        return capacity;
    }

    /**
     * Writes a layer's new keys and values at positions {@code [start, start + seq)}.
     *
     * @param layer layer index
     * @param start first position
     * @param k {@code [kvHeads, seq, headDim]}
     * @param v {@code [kvHeads, seq, headDim]}
     */
    void write(int layer, int start, NDArray k, NDArray v) {
        NDIndex at = new NDIndex(":, {}:{}", start, start + k.getShape().get(1));
        keys[layer].set(at, k);
        values[layer].set(at, v);
    }

    /**
     * @param layer layer index
     * @param length positions to view
     * @param manager owner of the views (the step's)
     * @return keys {@code [kvHeads, length, headDim]}
     */
    NDArray keys(int layer, int length, NDManager manager) {
        return keys[layer].get(manager, new NDIndex(":, :{}", length));
    }

    /**
     * @param layer layer index
     * @param length positions to view
     * @param manager owner of the views (the step's)
     * @return values {@code [kvHeads, length, headDim]}
     */
    NDArray values(int layer, int length, NDManager manager) {
        return values[layer].get(manager, new NDIndex(":, :{}", length));
    }

    /**
     * @param layer layer index
     * @return the layer's whole key tensor {@code [kvHeads, capacity, headDim]}, for the fused step to write and read
     */
    NDArray keys(int layer) {
        return keys[layer];
    }

    /**
     * @param layer layer index
     * @return the layer's whole value tensor {@code [kvHeads, capacity, headDim]}
     */
    NDArray values(int layer) {
        return values[layer];
    }

    /** @return bytes held by all layers' keys and values */
    long bytes() {
        long total = 0;
        for (int i = 0; i < keys.length; i++) {
            total += keys[i].size() * keys[i].getDataType().getNumOfBytes() * 2;
        }
        return total;
    }
}
