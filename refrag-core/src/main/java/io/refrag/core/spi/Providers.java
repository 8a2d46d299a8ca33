package io.refrag.core.spi;

import io.refrag.core.ModelLoadException;
import io.refrag.core.checkpoint.HfConfig;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;
import java.util.TreeSet;

/** Finds implementations on the class path with {@link ServiceLoader}, so core never depends on them. */
public final class Providers {
    private Providers() {
    }

    /**
     * Loads a decoder checkpoint with the provider registered for its {@code model_type}.
     *
     * @param folder an HF checkpoint folder
     * @param options device and precision
     * @return the decoder
     * @throws ModelLoadException if the folder is missing or no provider handles its model_type
     */
    public static CausalDecoder loadDecoder(Path folder, ModelOptions options) {
        HfConfig config = HfConfig.read(folder);
        String type = config.requireString("model_type");
        List<DecoderProvider> all = new ArrayList<>();
        ServiceLoader.load(DecoderProvider.class).forEach(all::add);
        for (DecoderProvider p : all) {
            if (p.modelTypes().contains(type)) {
                return p.load(folder, config, options);
            }
        }
        TreeSet<String> known = new TreeSet<>();
        all.forEach(p -> known.addAll(p.modelTypes()));
        throw new ModelLoadException("no decoder implementation for model_type '" + type + "' in " + folder
                + "; supported: " + known + (known.isEmpty() ? " (is refrag-decoder on the class path?)" : ""));
    }
}
