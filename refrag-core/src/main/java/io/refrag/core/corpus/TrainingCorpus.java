package io.refrag.core.corpus;

import com.google.gson.JsonElement;
import com.google.gson.JsonParser;
import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.generate.GenerationOptions;
import io.refrag.core.generate.Generator;
import io.refrag.core.model.CausalDecoder;
import io.refrag.core.model.DecoderInput;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * Training documents: plain text (one document per line), JSONL (one object per line with a text field), or text
 * sampled from the decoder itself.
 *
 * @param documents the documents, each non-blank
 */
public record TrainingCorpus(List<String> documents) implements CorpusSource {

    /** The most documents one sampling run writes (each is a generation: a million take hours on a small model). */
    public static final int MAX_SAMPLED_DOCUMENTS = 1_000_000;

    /** Copies the list and rejects an empty corpus. */
    public TrainingCorpus {
        documents = List.copyOf(documents);
        if (documents.isEmpty()) {
            throw new InvalidRequestException("the training corpus holds no documents");
        }
    }

    @Override
    public int size() {
        return documents.size();
    }

    @Override
    public TrainingCorpus resolve(CausalDecoder decoder) {
        return this;
    }

    /**
     * Reads {@code .jsonl} files as JSONL (field {@code text}) and anything else as one document per line; blank
     * lines are skipped.
     *
     * @param file the corpus file
     * @return the corpus
     * @throws InvalidRequestException if the file is missing, unreadable or malformed
     */
    public static TrainingCorpus read(Path file) {
        return file.getFileName().toString().endsWith(".jsonl") ? readJsonl(file, "text") : readText(file);
    }

    /** @return the corpus, or an error naming the file that holds no document */
    private static TrainingCorpus of(Path file, List<String> docs, String form) {
        if (docs.isEmpty()) {
            throw new InvalidRequestException(file + " holds no documents (expected " + form + ")");
        }
        return new TrainingCorpus(docs);
    }

    /**
     * @param file one document per line
     * @return the non-blank lines
     */
    public static TrainingCorpus readText(Path file) {
        return of(file, lines(file).stream().filter(l -> !l.isBlank()).toList(), "one document per non-blank line");
    }

    /**
     * @param file one JSON object per line
     * @param field the string field holding the document
     * @return the documents
     * @throws InvalidRequestException naming the line that is not an object with that string field
     */
    public static TrainingCorpus readJsonl(Path file, String field) {
        List<String> docs = new ArrayList<>();
        List<String> lines = lines(file);
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).isBlank()) {
                continue;
            }
            try {
                JsonElement e = JsonParser.parseString(lines.get(i));
                JsonElement text = e.isJsonObject() ? e.getAsJsonObject().get(field) : null;
                if (text == null || !text.isJsonPrimitive() || !text.getAsJsonPrimitive().isString()) {
                    throw new InvalidRequestException(file + " line " + (i + 1) + ": expected an object with a string "
                            + "field '" + field + "'");
                }
                if (!text.getAsString().isBlank()) {
                    docs.add(text.getAsString());
                }
            } catch (com.google.gson.JsonParseException ex) {
                throw new InvalidRequestException(file + " line " + (i + 1) + " is not valid JSON: " + ex.getMessage(),
                        ex);
            }
        }
        return of(file, docs, "one JSON object per line with a non-blank string field '" + field + "'");
    }

    private static List<String> lines(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new InvalidRequestException("training corpus file " + file + " does not exist");
        }
        try {
            long size = Files.size(file);
            long limit = Runtime.getRuntime().maxMemory() / 4; // a String per line takes about twice the bytes
            if (size > limit) {
                throw new InvalidRequestException("corpus file " + file + " has " + (size >> 20) + " MiB; at most "
                        + (limit >> 20) + " MiB (a quarter of the JVM's heap) is read whole: split it, or run with a "
                        + "larger -Xmx");
            }
            return Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new InvalidRequestException("cannot read training corpus " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Produces a corpus by sampling from the decoder (temperature 1, seeded), starting each document at BOS.
     *
     * @param decoder the decoder
     * @param documents how many documents
     * @param tokens tokens per document (generation stops early at EOS)
     * @param seed sampling seed; document i uses {@code seed + i}
     * @return the sampled documents (empty samples are dropped)
     */
    public static TrainingCorpus sample(CausalDecoder decoder, int documents, int tokens, long seed) {
        return sample(decoder, documents, tokens, seed, done -> { });
    }

    /**
     * @param decoder the decoder
     * @param documents how many documents, at most {@value #MAX_SAMPLED_DOCUMENTS}
     * @param tokens tokens per document (generation stops early at EOS)
     * @param seed sampling seed; document i uses {@code seed + i}
     * @param progress receives the documents done after each one
     * @return the sampled documents (empty samples are dropped)
     */
    public static TrainingCorpus sample(CausalDecoder decoder, int documents, int tokens, long seed,
            IntConsumer progress) {
        if (decoder.info().bosTokenId() < 0) {
            throw new InvalidRequestException("cannot sample a corpus: the decoder has no BOS token to start from");
        }
        requireSampleCounts(documents, tokens);
        List<String> docs = new ArrayList<>();
        for (int i = 0; i < documents; i++) {
            GenerationOptions o = GenerationOptions.builder()
                    .optMaxNewTokens(tokens).optTemperature(1f).optSeed(seed + i).build();
            String text = Generator.generate(decoder, DecoderInput.ofTokens(decoder.info().withBos(new int[0])), o,
                    System.nanoTime()).text().replace('\n', ' ').strip();
            if (!text.isEmpty()) {
                docs.add(text);
            }
            progress.accept(i + 1);
        }
        return new TrainingCorpus(docs);
    }

    static void requireSampleCounts(int documents, int tokens) {
        if (documents < 1 || documents > MAX_SAMPLED_DOCUMENTS || tokens < 1) {
            throw new InvalidRequestException("sampling a corpus needs documents in [1, " + MAX_SAMPLED_DOCUMENTS
                    + "] and tokens >= 1, got " + documents + " and " + tokens);
        }
    }
}
