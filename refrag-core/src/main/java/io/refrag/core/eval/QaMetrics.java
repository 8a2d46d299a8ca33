package io.refrag.core.eval;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/** SQuAD's answer metrics: normalisation, exact match and token F1, each taking the best reference. */
public final class QaMetrics {
    private static final Pattern PUNCTUATION = Pattern.compile("\\p{Punct}");
    private static final Pattern ARTICLES = Pattern.compile("\\b(a|an|the)\\b");
    private static final Pattern SPACES = Pattern.compile("\\s+");

    private QaMetrics() {
    }

    /**
     * Lower case, no punctuation, no articles (a, an, the), single spaces: SQuAD's {@code normalize_answer}.
     *
     * @param text an answer
     * @return its normal form
     */
    public static String normalize(String text) {
        String s = PUNCTUATION.matcher(text.toLowerCase(Locale.ROOT)).replaceAll("");
        s = ARTICLES.matcher(s).replaceAll(" ");
        return SPACES.matcher(s).replaceAll(" ").strip();
    }

    /**
     * @param prediction the model's answer
     * @param answers reference answers
     * @return 1 if the prediction equals a reference after normalisation, else 0
     */
    public static double exactMatch(String prediction, List<String> answers) {
        String p = normalize(prediction);
        return answers.stream().anyMatch(a -> normalize(a).equals(p)) ? 1 : 0;
    }

    /**
     * @param prediction the model's answer
     * @param answers reference answers
     * @return the best token F1 over the references (bag of normalised tokens)
     */
    public static double f1(String prediction, List<String> answers) {
        return answers.stream().mapToDouble(a -> f1(tokens(prediction), tokens(a))).max().orElse(0);
    }

    private static List<String> tokens(String text) {
        String n = normalize(text);
        return n.isEmpty() ? List.of() : Arrays.asList(n.split(" "));
    }

    private static double f1(List<String> prediction, List<String> reference) {
        if (prediction.isEmpty() || reference.isEmpty()) {
            return prediction.equals(reference) ? 1 : 0;
        }
        Map<String, Integer> counts = new HashMap<>();
        reference.forEach(t -> counts.merge(t, 1, Integer::sum));
        int common = 0;
        for (String t : prediction) {
            Integer c = counts.get(t);
            if (c != null && c > 0) {
                common++;
                counts.put(t, c - 1);
            }
        }
        if (common == 0) {
            return 0;
        }
        double precision = (double) common / prediction.size();
        double recall = (double) common / reference.size();
        return 2 * precision * recall / (precision + recall);
    }
}
