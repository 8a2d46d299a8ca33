package io.refrag.bench.cli;

import io.refrag.core.train.StepReport;
import io.refrag.core.train.TrainingListener;
import io.refrag.core.train.TrainingResult;
import io.refrag.core.train.TrainingTask;

import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code train reconstruct|cpt|policy --config FILE}: runs one training task, prints progress to stderr and the
 * result (held-out NLLs, output folder) to stdout.
 *
 * @param out results
 * @param err progress
 */
record Train(PrintStream out, PrintStream err) {

    void run(List<String> argv) {
        if (argv.isEmpty() || argv.get(0).startsWith("--")) {
            throw new UsageException("train needs a task first: train reconstruct|cpt|policy --config FILE");
        }
        String task = argv.get(0);
        Args a = Args.parse("train " + task, argv.subList(1, argv.size()), Set.of("config", "threads"),
                Set.of("json"));
        Main.applyThreads(a);
        TrainingTask training = TrainingTask.read(task, a.requireFile("config"));
        TrainingListener progress = new TrainingListener() {
            @Override
            public void onStep(StepReport r) {
                err.println(r.line());
            }

            @Override
            public void onEvaluation(String label, double heldOutNll) {
                err.printf(Locale.ROOT, "[%s] held-out NLL %s training: %.4f%n", task, label, heldOutNll);
            }
        };
        TrainingResult r = training.run(progress);
        if (a.flag("json")) {
            Map<String, Object> json = new LinkedHashMap<>();
            json.put("task", r.task());
            json.put("steps", r.steps());
            json.put("finalLoss", r.finalLoss());
            json.put("heldOutNll", r.heldOutNll());
            json.put("output", r.output().toString());
            json.put("millis", r.millis());
            out.println(Main.JSON.toJson(json));
        } else {
            out.println(r.summary());
            out.println("pipeline folder (Refrag.load / refrag.json): " + r.output());
        }
    }
}
