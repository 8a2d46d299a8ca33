package io.refrag.decoder.llama;

import io.refrag.core.lora.LoraAdapter;

/**
 * Where a model's unmerged LoRA adapters are attached: shared by all of its projections, so that adapters added for
 * training reach every layer at once.
 */
final class AdapterSlot {
    private volatile LoraAdapter adapter;

    /** @return the attached adapters, or null */
    LoraAdapter get() {
        return adapter;
    }

    /** @param lora the adapters, or null for none */
    void set(LoraAdapter lora) {
        this.adapter = lora;
    }
}
