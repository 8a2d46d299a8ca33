package io.refrag.core.testing;

import io.refrag.core.tokenizer.TextTokenizer;
import io.refrag.core.tokenizer.Tokenized;

import java.util.List;

/** One token per character, id = the character's code; offsets are exact. For tests of code above the tokenizer. */
public final class FakeTokenizer implements TextTokenizer {
    @Override
    public String contentHash() {
        return "fake-one-token-per-char";
    }

    @Override
    public Tokenized encode(String text) {
        int[] ids = text.chars().toArray();
        int[] start = new int[ids.length];
        int[] end = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            start[i] = i;
            end[i] = i + 1;
        }
        return new Tokenized(ids, start, end);
    }

    @Override
    public List<Tokenized> encodeBatch(List<String> texts) {
        return texts.stream().map(this::encode).toList();
    }

    @Override
    public String decode(int[] ids) {
        StringBuilder sb = new StringBuilder();
        for (int id : ids) {
            sb.append((char) id);
        }
        return sb.toString();
    }

    @Override
    public void close() {
    }
}
