package io.refrag.core.tokenizer;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.CharSpan;
import io.refrag.core.checkpoint.Checksums;
import io.refrag.core.exception.ModelLoadException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A {@code tokenizer.json} loaded with DJL's Hugging Face tokenizers. Truncation and padding settings stored in the
 * file are overridden explicitly (padding off; truncation only when a maximum length is given).
 */
public final class HfTextTokenizer implements TextTokenizer {
    private final HuggingFaceTokenizer tokenizer;
    private final String contentHash;

    private HfTextTokenizer(HuggingFaceTokenizer tokenizer, String contentHash) {
        this.tokenizer = tokenizer;
        this.contentHash = contentHash;
    }

    /**
     * @param folder a checkpoint folder holding {@code tokenizer.json}
     * @param addSpecialTokens whether the file's post-processor adds BOS / [CLS] [SEP]
     * @param maxLength truncate to this many tokens (special tokens included); 0 for no truncation
     * @return the tokenizer
     * @throws ModelLoadException if tokenizer.json is missing or unreadable
     */
    public static HfTextTokenizer load(Path folder, boolean addSpecialTokens, int maxLength) {
        Path file = folder.resolve("tokenizer.json");
        if (!Files.isRegularFile(file)) {
            throw new ModelLoadException("missing tokenizer file " + file);
        }
        try {
            HuggingFaceTokenizer.Builder b = HuggingFaceTokenizer.builder()
                    .optTokenizerPath(file)
                    .optAddSpecialTokens(addSpecialTokens)
                    .optPadding(false)
                    .optTruncation(maxLength > 0);
            if (maxLength > 0) {
                b.optMaxLength(maxLength);
            }
            return new HfTextTokenizer(b.build(), Checksums.sha256(List.of(file)) + (addSpecialTokens ? "+special" : "")
                    + (maxLength > 0 ? "+max" + maxLength : ""));
        } catch (IOException | RuntimeException e) {
            throw new ModelLoadException("cannot load tokenizer " + file + ": " + e.getMessage(), e);
        }
    }

    @Override
    public String contentHash() {
        return contentHash;
    }

    @Override
    public Tokenized encode(String text) {
        return convert(tokenizer.encode(text));
    }

    @Override
    public List<Tokenized> encodeBatch(List<String> texts) {
        if (texts.isEmpty()) {
            return List.of();
        }
        Encoding[] encodings = tokenizer.batchEncode(texts);
        List<Tokenized> out = new ArrayList<>(encodings.length);
        for (Encoding e : encodings) {
            out.add(convert(e));
        }
        return out;
    }

    private static Tokenized convert(Encoding e) {
        long[] raw = e.getIds();
        CharSpan[] spans = e.getCharTokenSpans();
        int[] ids = new int[raw.length];
        int[] start = new int[raw.length];
        int[] end = new int[raw.length];
        for (int i = 0; i < raw.length; i++) {
            ids[i] = Math.toIntExact(raw[i]);
            CharSpan s = spans[i];
            start[i] = s == null ? 0 : s.getStart();
            end[i] = s == null ? 0 : s.getEnd();
        }
        return new Tokenized(ids, start, end);
    }

    @Override
    public String decode(int[] ids) {
        long[] raw = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            raw[i] = ids[i];
        }
        return tokenizer.decode(raw, true);
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
